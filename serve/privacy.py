"""The data rights service (in the ingress process): a user's export of everything held about
them, and erasure on request. Self or admin; anyone else gets 403, as for PUT /users/{id}
(that the user exists is public).

Erasure replaces the name and email, makes the password unusable, ends every session (the
refresh tokens in PostgreSQL, their access tokens through the Redis revocation markers), drops
the cached profile and emits `user.deleted` (ids only), on which consumers drop what they hold.
Certificates keep the name printed on them: verification reads it from the certificate row.
"""

import asyncio
import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from core.credentials import PasswordHasher
from core.errors import Forbidden, NotFound
from core.events import UserDeletedData, make_event
from core.identity import Principal
from serve.resources import Resources
from storage.repositories.personal_data import PersonalDataRepository
from storage.repositories.session import SessionRepository
from storage.revocations import SessionRevocations
from storage.user_cache import UserCache

log = logging.getLogger(__name__)


class DataRights:
    def __init__(self, resources: Resources) -> None:
        settings = resources.settings
        self.db = resources.db
        self.hasher = PasswordHasher(settings.bcrypt_rounds)
        self.cache = UserCache(resources.redis, settings.user_cache_ttl_seconds)
        self.revocations = SessionRevocations(resources.redis, settings.access_token_ttl_seconds)

    async def export(self, principal: Principal, user_id: int) -> dict[str, Any]:
        if not principal.may_act_for(user_id):
            raise Forbidden("You may only export your own data")
        async with self.db.unit_of_work() as uow:
            repo = PersonalDataRepository(uow.session)
            user = await repo.live_user(user_id)
            if user is None:
                raise NotFound("No such user")
            return await repo.export(user)

    async def erase(self, principal: Principal, user_id: int) -> None:
        if not principal.may_act_for(user_id):
            raise Forbidden("You may only delete your own account")
        # A hash of a secret nobody keeps: the stored value stays a valid hash, so a login
        # attempt is refused the ordinary way.
        unusable = await asyncio.to_thread(self.hasher.hash, secrets.token_urlsafe(32))
        now = datetime.now(UTC)
        async with self.db.unit_of_work() as uow:
            repo = PersonalDataRepository(uow.session)
            if await repo.live_user(user_id) is None:
                raise NotFound("No such user")
            await repo.erase(user_id, unusable, now)
            ended = await SessionRepository(uow.session).revoke_user(user_id, now)
            data = UserDeletedData(user_id=user_id)
            uow.emit(make_event("user.deleted", str(user_id), data, source="users"))
            await uow.commit()
        await self.revocations.revoke(ended)
        await self.cache.drop(user_id)
        log.info("event=user_erased user_id=%s sessions_ended=%d", user_id, len(ended))

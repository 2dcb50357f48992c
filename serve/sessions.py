"""Login sessions of the users service: login, refresh-token rotation with reuse detection,
logout and revoking every session of a user.

One login starts a session: a refresh-token family whose id is the `sid` of its access tokens.
Every refresh uses up the presented token and issues the next one in the family; a used token
presented again means it leaked (or a client raced itself), so the whole family is revoked in
PostgreSQL and marked in Redis, which ends its access tokens at the gateway too.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from ray.util.metrics import Counter

from core.credentials import PasswordHasher, normalise_email
from core.errors import NotFound, Unauthorized
from core.identity import Role
from core.settings import Settings
from core.tokens import issue_access_token, new_refresh_token, new_session_id, refresh_token_hash
from core.users import LoginAttempt, RefreshRequest, SessionEnd, TokenPair
from storage.db import Database, UnitOfWork
from storage.login_throttle import LoginThrottle, account_hash
from storage.repositories.session import SessionRepository
from storage.repositories.user import UserRepository
from storage.revocations import SessionRevocations

log = logging.getLogger(__name__)
LOGIN_ALARMS = Counter(
    "smartcourse_login_failure_alarms",
    "Accounts that crossed the failed-login alarm threshold (across addresses)",
)
BAD_CREDENTIALS = "Incorrect email or password"
BAD_REFRESH = "The refresh token is invalid or has expired"


class Sessions:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        revocations: SessionRevocations,
    ) -> None:
        self._settings = settings
        self._secret = settings.require_jwt_secret()
        self._db = db
        self._hasher = hasher
        self._throttle = throttle
        self.revocations = revocations

    async def login(self, attempt: LoginAttempt) -> TokenPair:
        """Tokens for a new session; the same 401 for an unknown email and a wrong password."""
        email = normalise_email(attempt.email)
        await self._throttle.check(email, attempt.client_ip)
        async with self._db.unit_of_work() as uow:
            user = await UserRepository(uow.session).by_email(email)
            # Plain values: the rows expire when the unit of work ends.
            found = (user.id, Role(user.role), user.password_hash) if user else None
        password = attempt.password.get_secret_value()
        stored = found[2] if found else None
        if not await asyncio.to_thread(self._hasher.verify, password, stored) or found is None:
            if await self._throttle.record_failure(email, attempt.client_ip):
                # An alarm, not a lock: many addresses are guessing one account's password.
                LOGIN_ALARMS.inc()
                log.warning("event=login_failures_alarm account=%s", account_hash(email)[:12])
            log.info("event=login_failed")
            raise Unauthorized(BAD_CREDENTIALS)
        await self._throttle.clear_pair(email, attempt.client_ip)
        user_id, role, _ = found
        async with self._db.unit_of_work() as uow:
            tokens = await self._issue(uow, user_id, role, new_session_id())
            await uow.commit()
        log.info("event=login user_id=%s", user_id)
        return tokens

    async def refresh(self, request: RefreshRequest) -> TokenPair:
        """Rotate: the presented token is used up and the next one of its family issued."""
        token_hash, now = refresh_token_hash(request.refresh_token), datetime.now(UTC)
        async with self._db.unit_of_work() as uow:
            sessions = SessionRepository(uow.session)
            used = await sessions.use_token(token_hash, now)
            user = used and await UserRepository(uow.session).get(used.user_id)
            if used is None or user is None:
                family = await self._revoke_if_reused(sessions, token_hash, now)
                await uow.commit()
                if family is not None:
                    await self.revocations.revoke([family])
                raise Unauthorized(BAD_REFRESH)
            tokens = await self._issue(uow, user.id, Role(user.role), used.family_id)
            await uow.commit()
        return tokens

    async def logout(self, end: SessionEnd) -> None:
        """End the caller's session that the refresh token belongs to (idempotent)."""
        token_hash, now = refresh_token_hash(end.refresh_token), datetime.now(UTC)
        async with self._db.unit_of_work() as uow:
            sessions = SessionRepository(uow.session)
            token = await sessions.find_token(token_hash)
            if token is None or token.user_id != end.user_id:
                raise NotFound("No such session")
            family = token.family_id
            await sessions.revoke_family(family, now)
            await uow.commit()
        await self.revocations.revoke([family])
        log.info("event=logout user_id=%s", end.user_id)

    async def _revoke_if_reused(
        self, sessions: SessionRepository, token_hash: str, now: datetime
    ) -> str | None:
        """When the token was already used, revoke its family and answer the family id."""
        token = await sessions.find_token(token_hash)
        if token is None or token.used_at is None or token.revoked_at is not None:
            return None
        await sessions.revoke_family(token.family_id, now)
        log.warning("event=refresh_token_reuse user_id=%s", token.user_id)
        return token.family_id

    async def _issue(self, uow: UnitOfWork, user_id: int, role: Role, family_id: str) -> TokenPair:
        refresh = new_refresh_token()
        expires_at = datetime.now(UTC) + timedelta(seconds=self._settings.refresh_token_ttl_seconds)
        await SessionRepository(uow.session).add_token(
            user_id, family_id, refresh_token_hash(refresh), expires_at
        )
        ttl = self._settings.access_token_ttl_seconds
        access = issue_access_token(
            self._secret, user_id=user_id, role=role, session_id=family_id, ttl_seconds=ttl
        )
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=ttl)

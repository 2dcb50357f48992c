"""The notifications service (in the ingress process): a user's in-app notifications and their
notification preferences (self or admin)."""

from typing import Any

from core.errors import Forbidden, NotFound
from core.identity import Principal
from core.notices import Preferences, PreferencesUpdate, preference_view
from core.pages import PageQuery, page_of
from serve.resources import Resources
from storage.db import UnitOfWork
from storage.repositories.notification import NotificationRepository
from storage.repositories.preferences import PreferencesRepository
from storage.repositories.user import UserRepository


class Notifications:
    def __init__(self, resources: Resources) -> None:
        self.db = resources.db

    async def list(
        self, principal: Principal, unread_only: bool, query: PageQuery
    ) -> dict[str, Any]:
        """One page of the caller's notifications, with how many are unread in all."""
        async with self.db.unit_of_work() as uow:
            found = await NotificationRepository(uow.session).for_user(
                principal.user_id, unread_only=unread_only, offset=query.offset, limit=query.limit
            )
        items = [
            {
                "id": row.id,
                "kind": row.kind,
                "title": row.title,
                "body": row.body,
                "read": row.read,
                "created_at": row.created_at,
            }
            for row in found.rows
        ]
        return page_of(query, items, found.total, unread=found.unread)

    async def mark_read(self, principal: Principal, notification_id: int) -> None:
        async with self.db.unit_of_work() as uow:
            if not await NotificationRepository(uow.session).mark_read(
                principal.user_id, notification_id
            ):
                raise NotFound("Notification not found")
            await uow.commit()

    async def preferences(self, principal: Principal, user_id: int) -> Preferences:
        async with self.db.unit_of_work() as uow:
            await self.require_user(uow, principal, user_id)
            disabled = await PreferencesRepository(uow.session).disabled(user_id)
        return preference_view(disabled)

    async def set_preferences(
        self, principal: Principal, user_id: int, update: PreferencesUpdate
    ) -> Preferences:
        async with self.db.unit_of_work() as uow:
            await self.require_user(uow, principal, user_id)
            repository = PreferencesRepository(uow.session)
            await repository.set(user_id, update.changes())
            disabled = await repository.disabled(user_id)
            await uow.commit()
        return preference_view(disabled)

    @staticmethod
    async def require_user(uow: UnitOfWork, principal: Principal, user_id: int) -> None:
        if not principal.may_act_for(user_id):
            raise Forbidden("Only the user or an admin may see or change these preferences")
        if await UserRepository(uow.session).get(user_id) is None:
            raise NotFound("User not found")

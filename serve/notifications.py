"""The notifications service (in the ingress process): a user's in-app notifications."""

from typing import Any

from core.errors import NotFound
from core.identity import Principal
from serve.resources import Resources
from storage.repositories.notification import NotificationRepository

PAGE = 100


class Notifications:
    def __init__(self, resources: Resources) -> None:
        self.db = resources.db

    async def list(self, principal: Principal, unread_only: bool) -> dict[str, Any]:
        async with self.db.unit_of_work() as uow:
            rows = await NotificationRepository(uow.session).for_user(
                principal.user_id, unread_only=unread_only, limit=PAGE
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
            for row in rows
        ]
        return {"items": items}

    async def mark_read(self, principal: Principal, notification_id: int) -> None:
        async with self.db.unit_of_work() as uow:
            if not await NotificationRepository(uow.session).mark_read(
                principal.user_id, notification_id
            ):
                raise NotFound("Notification not found")
            await uow.commit()

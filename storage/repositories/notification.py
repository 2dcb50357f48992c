"""In-app notifications in PostgreSQL; one row per (user, cause), so a retried effect adds none."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.enrollment import Notification


@dataclass(frozen=True, slots=True)
class NewNotification:
    user_id: int
    kind: str
    title: str
    body: str
    # What caused it (e.g. `enrollment.created:42`); the same cause never notifies twice.
    dedupe_key: str


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, notifications: Sequence[NewNotification]) -> int:
        """Insert the new ones; answers how many were new."""
        if not notifications:
            return 0
        statement = (
            insert(Notification)
            .values([asdict(n) for n in notifications])
            .on_conflict_do_nothing(constraint="uq_notifications_user_dedupe")
            .returning(Notification.id)
        )
        return len((await self.session.scalars(statement)).all())

    async def for_user(self, user_id: int, *, unread_only: bool, limit: int) -> list[Notification]:
        statement = select(Notification).where(Notification.user_id == user_id)
        if unread_only:
            statement = statement.where(Notification.read.is_(False))
        statement = statement.order_by(Notification.created_at.desc(), Notification.id.desc())
        return list(await self.session.scalars(statement.limit(limit)))

    async def mark_read(self, user_id: int, notification_id: int) -> bool:
        result = await self.session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.user_id == user_id)
            .values(read=True)
        )
        return result.rowcount == 1

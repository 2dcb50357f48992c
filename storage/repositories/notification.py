"""In-app notifications in PostgreSQL; one row per (user, cause), so a retried effect adds none."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.enrollment import Notification

# On the table, built once, the rows as its parameters: compiled once (storage/outbox.py).
TABLE = Notification.__table__
ADD = (
    insert(TABLE)
    .on_conflict_do_nothing(constraint="uq_notifications_user_dedupe")
    .returning(TABLE.c.id)
)


@dataclass(frozen=True, slots=True)
class NewNotification:
    user_id: int
    kind: str
    title: str
    body: str
    # What caused it (e.g. `enrollment.created:42`); the same cause never notifies twice.
    dedupe_key: str


@dataclass(frozen=True, slots=True)
class NotificationPage:
    rows: list[Notification]
    total: int
    unread: int


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, notifications: Sequence[NewNotification]) -> int:
        """Insert the new ones; answers how many were new."""
        if not notifications:
            return 0
        added = await self.session.scalars(ADD, [asdict(n) for n in notifications])
        return len(added.all())

    async def for_user(
        self, user_id: int, *, unread_only: bool, offset: int, limit: int
    ) -> NotificationPage:
        """One page of the user's notifications, newest first, with the totals."""
        mine = Notification.user_id == user_id
        unread = Notification.read.is_(False)
        filters = [mine, unread] if unread_only else [mine]
        listed = func.count().filter(unread) if unread_only else func.count()
        counts = select(listed, func.count().filter(unread)).where(mine)
        total, unread_count = (await self.session.execute(counts)).one()
        statement = (
            select(Notification)
            .where(*filters)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset(offset)
            .limit(limit)
        )
        rows = list(await self.session.scalars(statement))
        return NotificationPage(rows, total, unread_count)

    async def delete_for_user(self, user_id: int) -> int:
        result = await self.session.execute(
            delete(Notification).where(Notification.user_id == user_id)
        )
        return result.rowcount

    async def mark_read(self, user_id: int, notification_id: int) -> bool:
        result = await self.session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.user_id == user_id)
            .values(read=True)
        )
        return result.rowcount == 1

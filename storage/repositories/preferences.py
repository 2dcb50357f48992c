"""Notification preferences in PostgreSQL: the settings a user changed (absent means on)."""

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.preferences import NotificationPreference


class PreferencesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def disabled(self, user_id: int) -> set[tuple[str, str]]:
        """The (channel, kind) pairs `user_id` turned off."""
        rows = await self.session.execute(
            select(NotificationPreference.channel, NotificationPreference.kind).where(
                NotificationPreference.user_id == user_id,
                NotificationPreference.enabled.is_(False),
            )
        )
        return {(channel, kind) for channel, kind in rows}

    async def disabled_channels(self, user_ids: Sequence[int], kind: str) -> set[tuple[int, str]]:
        """The (user, channel) pairs on which `kind` is off, for many recipients at once."""
        if not user_ids:
            return set()
        rows = await self.session.execute(
            select(NotificationPreference.user_id, NotificationPreference.channel).where(
                NotificationPreference.user_id.in_(list(user_ids)),
                NotificationPreference.kind == kind,
                NotificationPreference.enabled.is_(False),
            )
        )
        return {(user_id, channel) for user_id, channel in rows}

    async def set(self, user_id: int, changes: Iterable[tuple[str, str, bool]]) -> None:
        values = [
            {"user_id": user_id, "channel": channel, "kind": kind, "enabled": enabled}
            for channel, kind, enabled in changes
        ]
        if not values:
            return
        statement = insert(NotificationPreference).values(values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "channel", "kind"],
                set_={"enabled": statement.excluded.enabled},
            )
        )

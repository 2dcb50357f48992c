"""Login sessions: refresh tokens (stored as SHA-256) grouped in families, one family a login.

Rotation is a conditional UPDATE (`used_at IS NULL`), so of two concurrent refreshes with the
same token exactly one wins; the other sees a used token, which is how reuse is detected.
"""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.user import RefreshToken


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_token(
        self, user_id: int, family_id: str, token_hash: str, expires_at: datetime
    ) -> None:
        self.session.add(
            RefreshToken(
                user_id=user_id, family_id=family_id, token_hash=token_hash, expires_at=expires_at
            )
        )
        await self.session.flush()

    async def use_token(self, token_hash: str, now: datetime) -> RefreshToken | None:
        """Mark a live token used and answer it; None when it is unknown, used, revoked or
        expired."""
        statement = (
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(RefreshToken)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def find_token(self, token_hash: str) -> RefreshToken | None:
        return await self.session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        )

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_user(self, user_id: int, now: datetime) -> set[str]:
        """Revoke every session of a user; answers the families that were still open."""
        statement = (
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(RefreshToken.family_id)
        )
        return set((await self.session.scalars(statement)).all())

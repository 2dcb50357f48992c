"""Users, instructor profiles and refresh-token sessions."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Timestamped


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('student', 'instructor', 'admin')", name="role"),
        CheckConstraint("email = lower(email)", name="email_normalised"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # Stored normalised (lower-case), so uniqueness is case-insensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Erased at the user's request: name and email are replaced, the row stays for the ids.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InstructorProfile(Timestamped, Base):
    __tablename__ = "instructor_profiles"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    bio: Mapped[str] = mapped_column(Text, default="", server_default="")
    expertise: Mapped[list[str]] = mapped_column(
        ARRAY(String(100)), default=list, server_default="{}"
    )


class RefreshToken(Timestamped, Base):
    """A refresh token, stored as its SHA-256; `family_id` ties the rotations of one login and
    is the `sid` claim of that session's access tokens. Using a token sets `used_at`; presenting
    a used one again revokes the family (`revoked_at`)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

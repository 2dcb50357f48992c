"""The transactional outbox: every domain event, written with the state change that caused it."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Timestamped


class OutboxEvent(Timestamped, Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "seq", postgresql_where=text("published_at IS NULL")),
    )

    # `seq` orders publication; per aggregate it is the order the changes committed in.
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict] = mapped_column(JSONB)
    # W3C trace context of the request that caused the event; travels on as Kafka headers.
    trace_context: Mapped[dict | None] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

"""What event consumers keep: the events each group has processed (so a redelivery has no
second effect) and the live analytics counters (partitioned by month, seed 6.3)."""

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class ProcessedEvent(Base):
    __tablename__ = "processed_events"

    consumer_group: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AnalyticsDaily(Base):
    """Per day and course (0 = the whole platform): the analytics consumer's counters (seed
    5.7), each moved by one kind of event. `completion_seconds` sums enrolment-to-completion
    times, so an average over any range is `completion_seconds / completions`."""

    __tablename__ = "analytics_metrics"
    __table_args__ = {"postgresql_partition_by": "RANGE (day)"}

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    course_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    new_enrollments: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    drops: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    new_students: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    new_instructors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    courses_published: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    courses_archived: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lessons_completed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completion_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ActiveLearner(Base):
    """A student who made progress in a course on a day: daily and weekly active learners are
    distinct students over a range of these rows."""

    __tablename__ = "analytics_active_learners"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    course_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    student_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)

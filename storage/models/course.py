"""Courses and their structure: prerequisites, modules, lessons (quiz keys included), materials,
content chunks (the PostgreSQL content store) and failed publish attempts."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Timestamped


class Course(Timestamped, Base):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'publishing', 'published', 'archived')", name="status"
        ),
        CheckConstraint("level IN ('beginner', 'intermediate', 'advanced')", name="level"),
        CheckConstraint(
            "enrollment_limit IS NULL OR enrolled_count <= enrollment_limit", name="seats"
        ),
        CheckConstraint("enrolled_count >= 0", name="enrolled_count"),
        Index(
            "ix_courses_catalog",
            "published_at",
            postgresql_where=text("status = 'published'"),
        ),
        Index("ix_courses_search", "search_vector", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    instructor_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(100), index=True)
    level: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    enrollment_limit: Mapped[int | None] = mapped_column(Integer)
    # The seat counter; the check constraint above is the last guard against overbooking.
    enrolled_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pass_threshold: Mapped[int] = mapped_column(Integer, default=70, server_default="70")
    # When full, new students queue (enrollments `waitlisted`) instead of being refused.
    waitlist: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    publish_error: Mapped[str | None] = mapped_column(Text)
    # Written by the publishing workflow's update_search_index activity, cleared on failure.
    search_vector: Mapped[str | None] = mapped_column(TSVECTOR)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CoursePrerequisite(Base):
    __tablename__ = "course_prerequisites"
    __table_args__ = (CheckConstraint("course_id <> prerequisite_id", name="not_self"),)

    course_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    prerequisite_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("courses.id", ondelete="RESTRICT"), primary_key=True
    )


class Module(Timestamped, Base):
    __tablename__ = "modules"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    course_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)


class Lesson(Timestamped, Base):
    __tablename__ = "lessons"
    __table_args__ = (
        CheckConstraint("kind IN ('video', 'text', 'quiz')", name="kind"),
        CheckConstraint("kind <> 'quiz' OR quiz IS NOT NULL", name="quiz_has_questions"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    module_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("modules.id", ondelete="CASCADE"), index=True
    )
    # Denormalised from the module: a lesson id alone routes a completion to its course.
    course_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    content: Mapped[str | None] = mapped_column(Text)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    # {"pass_score": int, "questions": [{"prompt", "choices", "answer_index"}]}; the answer
    # keys never leave the services.
    quiz: Mapped[dict | None] = mapped_column(JSONB)


class Material(Timestamped, Base):
    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    course_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    object_key: Mapped[str] = mapped_column(String(512), unique=True)
    # Extracted at upload for txt/md/pdf; chunked into the content store on publish.
    text: Mapped[str | None] = mapped_column(Text)


class ContentChunk(Timestamped, Base):
    """The PostgreSQL (JSONB) implementation of the content store."""

    __tablename__ = "content_chunks"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    course_id: Mapped[int] = mapped_column(BigInteger, index=True)
    document: Mapped[dict] = mapped_column(JSONB)


class PublishFailure(Timestamped, Base):
    """A failed publishing attempt, kept for the instructor and the failed-workflow metric."""

    __tablename__ = "publish_failures"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    course_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    workflow_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)

"""Certificates of completion: one per enrollment, with the names as they were when issued."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # Unique: issuing twice for one enrollment (a retried workflow, two requests) finds the row.
    enrollment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("enrollments.id", ondelete="RESTRICT"), unique=True
    )
    student_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    course_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    verification_code: Mapped[str] = mapped_column(String(64), unique=True)
    # Copies, not joins: a certificate keeps saying what was true on the day it was issued.
    student_name: Mapped[str] = mapped_column(String(200))
    course_title: Mapped[str] = mapped_column(String(300))
    issued_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow
    )
    pdf_object_key: Mapped[str | None] = mapped_column(String(300))
    pdf_rendered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

"""The enrollment boundary: what enrollment and progress calls accept and answer."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.progress import ProgressView
from core.text import RowId, StrictInt64

EnrollmentStatus = Literal["pending", "active", "completed", "dropped"]


class EnrollmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    course_id: RowId


class QuizSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    answers: list[StrictInt64] = Field(max_length=100)


class EnrollmentView(BaseModel):
    id: int
    student_id: int
    course_id: int
    status: EnrollmentStatus
    enrolled_at: datetime
    completed_at: datetime | None
    certificate_id: int | None
    progress: ProgressView | None = None


class EnrollmentList(BaseModel):
    items: list[EnrollmentView]


class EnrollmentAccepted(BaseModel):
    enrollment_id: int
    status: str
    workflow_id: str


class QuizOutcome(BaseModel):
    score: int
    passed: bool
    attempt: int
    progress: ProgressView


def enroll_workflow_id(enrollment_id: int) -> str:
    return f"enroll-{enrollment_id}"

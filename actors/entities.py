"""The virtual actors' state and rules: a course entity (status, seats, structure) and a
student's enrollment entities (completed lessons, quiz attempts). Hosting, loading and
flushing are the shard's job (actors/shard.py)."""

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.enrollments import CourseState, EnrollmentState
from core.events import (
    EnrollmentCompletedData,
    EventEnvelope,
    ModuleCompletedData,
    ProgressUpdatedData,
    make_event,
)
from core.progress import (
    CourseStructure,
    ProgressChange,
    ProgressView,
    course_completed,
    module_completed_by,
    modules_progress,
    percentage,
)


@dataclass
class CourseEntity:
    """Admits enrollments one at a time (`lock`), so the seat counter cannot be overbooked."""

    course_id: int
    state: CourseState
    taken: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    used: float = field(default_factory=time.monotonic)


@dataclass
class StudentEntity:
    """A student's enrollments by course, and the lessons whose commit is in flight."""

    student_id: int
    by_course: dict[int, EnrollmentState] = field(default_factory=dict)
    pending: dict[int, set[int]] = field(default_factory=dict)
    pending_attempts: dict[tuple[int, int], int] = field(default_factory=dict)
    inflight: dict[tuple[int, int], asyncio.Future] = field(default_factory=dict)
    used: float = field(default_factory=time.monotonic)

    def by_id(self, enrollment_id: int) -> EnrollmentState | None:
        return next((e for e in self.by_course.values() if e.id == enrollment_id), None)

    @property
    def busy(self) -> bool:
        return bool(self.inflight) or any(self.pending.values()) or bool(self.pending_attempts)


def progress_view(enrollment: EnrollmentState, structure: CourseStructure) -> dict:
    at = enrollment.last_accessed_at
    return ProgressView(
        enrollment_id=enrollment.id,
        completion_percentage=percentage(structure, enrollment.completed),
        completed_lessons=sorted(enrollment.completed),
        modules=modules_progress(structure, enrollment.completed),
        last_accessed_at=at.isoformat() if at else None,
    ).model_dump(mode="json")


def completion(
    enrollment: EnrollmentState, structure: CourseStructure, before: set[int], lesson_id: int
) -> tuple[ProgressChange, list[EventEnvelope]]:
    """The change and events of completing `lesson_id` after `before` (committed + in flight)."""
    after = before | {lesson_id}
    now = datetime.now(UTC)
    done = course_completed(structure, after)
    change = ProgressChange(
        enrollment_id=enrollment.id,
        student_id=enrollment.student_id,
        at=now,
        percentage=percentage(structure, after),
        lesson_id=lesson_id,
        completed_course=done,
    )
    ids = {
        "enrollment_id": enrollment.id,
        "student_id": enrollment.student_id,
        "course_id": enrollment.course_id,
    }
    subject = str(enrollment.id)
    data = ProgressUpdatedData(**ids, lesson_id=lesson_id, completion_percentage=change.percentage)
    events = [make_event("progress.updated", subject, data, source="progress")]
    module_id = module_completed_by(structure, before, lesson_id)
    if module_id is not None:
        data = ModuleCompletedData(**ids, module_id=module_id)
        events.append(make_event("progress.module_completed", subject, data, source="progress"))
    if done:
        data = EnrollmentCompletedData(**ids, completed_at=now)
        events.append(make_event("enrollment.completed", subject, data, source="progress"))
    return change, events

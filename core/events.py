"""Domain events: one envelope for every event, a data model per event type, and the topics.

Events carry ids, not personal data: a consumer that needs an email or a name reads it from
the user's record, so the log of events never holds PII.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from core.errors import ValidationFailed


class EventEnvelope(BaseModel):
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    source: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str
    data: dict[str, Any]


class UserRegisteredData(BaseModel):
    user_id: int
    role: str


class UserVerifiedData(BaseModel):
    user_id: int


class CourseData(BaseModel):
    course_id: int
    instructor_id: int
    title: str
    category: str | None = None


class CourseChange(BaseModel):
    """What a revision did: `action` is one of module_added, module_edited, module_deleted,
    modules_reordered, lesson_added, lesson_edited, lesson_deleted, lessons_reordered, or
    details_edited (with the changed `fields`)."""

    action: str
    module_id: int | None = None
    lesson_id: int | None = None
    ids: list[int] | None = None
    fields: list[str] | None = None


class CourseUpdatedData(CourseData):
    structure_version: int | None = None
    change: CourseChange | None = None


class UserDeletedData(BaseModel):
    """Ids only: the user's personal data is gone; consumers drop what they hold of it."""

    user_id: int


class PublishFailedData(CourseData):
    # Why validation refused the course (the instructor's own content, not personal data).
    reason: str


class EnrollmentData(BaseModel):
    enrollment_id: int
    student_id: int
    course_id: int


class EnrollmentCompletedData(EnrollmentData):
    completed_at: datetime


class ReminderDueData(EnrollmentData):
    completion_percentage: float
    # The day the reminder is for: one reminder per enrollment and day.
    day: str


class ProgressUpdatedData(EnrollmentData):
    lesson_id: int
    completion_percentage: float


class ModuleCompletedData(EnrollmentData):
    module_id: int


class CertificateIssuedData(EnrollmentData):
    certificate_id: int
    verification_code: str
    # As printed on the certificate (a course's title is not personal data), so the notice
    # says what the certificate was issued for even if the course is renamed.
    course_title: str | None = None


EVENT_DATA: dict[str, type[BaseModel]] = {
    "user.registered": UserRegisteredData,
    "user.verified": UserVerifiedData,
    "user.deleted": UserDeletedData,
    "course.created": CourseData,
    "course.published": CourseData,
    "course.updated": CourseUpdatedData,
    "course.archived": CourseData,
    "course.publish_failed": PublishFailedData,
    "enrollment.created": EnrollmentData,
    "enrollment.completed": EnrollmentCompletedData,
    "enrollment.dropped": EnrollmentData,
    # The waitlist: joined, admitted to a freed seat, left before a seat came.
    "enrollment.waitlisted": EnrollmentData,
    "enrollment.waitlist_admitted": EnrollmentData,
    "enrollment.waitlist_left": EnrollmentData,
    "enrollment.reminder_due": ReminderDueData,
    "progress.updated": ProgressUpdatedData,
    "progress.module_completed": ModuleCompletedData,
    "certificate.issued": CertificateIssuedData,
}


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    partitions: int
    retention_ms: int


DAY_MS = 24 * 3600 * 1000
# Seed 6.1: partition counts and retention per topic. The seed's `analytics.events` and
# `notification.events` are left out: derived figures live in `analytics_metrics` and sent
# notices in `notifications` (with Celery's task results), and nobody would read either from a
# topic; a topic no one writes or reads only costs the broker partitions.
TOPICS: tuple[Topic, ...] = (
    Topic("user.events", 3, 7 * DAY_MS),
    Topic("course.events", 6, 7 * DAY_MS),
    Topic("enrollment.events", 6, 7 * DAY_MS),
    Topic("progress.events", 12, 3 * DAY_MS),
)
TOPIC_OF_PREFIX = {
    "user": "user.events",
    "course": "course.events",
    "enrollment": "enrollment.events",
    "certificate": "enrollment.events",
    "progress": "progress.events",
}


def topic_for(event_type: str) -> str:
    """The topic an event type is published on."""
    try:
        return TOPIC_OF_PREFIX[event_type.split(".", 1)[0]]
    except KeyError:
        raise ValidationFailed(f"unknown event type {event_type!r}") from None


def make_event(type_: str, subject: str, data: BaseModel, source: str) -> EventEnvelope:
    """An envelope for `data`, which must be the registered model of `type_`."""
    expected = EVENT_DATA.get(type_)
    if expected is None or not isinstance(data, expected):
        raise ValidationFailed(f"event {type_!r} does not take {type(data).__name__}")
    return EventEnvelope(
        type=type_, subject=subject, source=source, data=data.model_dump(mode="json")
    )


# Events written by retried steps (Temporal activities) take ids derived from their cause, so
# a second run of the step finds its event already in the outbox.
CAUSE_NAMESPACE = uuid.UUID("0b5e7c3a-8d6f-4e21-9c47-2f1a6d3e9b80")


def event_id_for(cause: str) -> uuid.UUID:
    """The event id of `cause` (e.g. `reminder:42:2026-01-31`), the same on every run."""
    return uuid.uuid5(CAUSE_NAMESPACE, cause)


REQUIRED_ON_RECEIPT = frozenset(EventEnvelope.model_fields)


def parse_event(raw: bytes | str | dict[str, Any]) -> EventEnvelope:
    """Validate an envelope and its data against the registered model of its type."""
    try:
        payload = raw if isinstance(raw, dict) else json.loads(raw)
        if not isinstance(payload, dict):
            raise ValidationFailed("malformed event", details="not a JSON object")
        # Defaults serve producers; a received event must carry its own id and time, or a
        # redelivery would look like a new event to an idempotent consumer.
        missing = REQUIRED_ON_RECEIPT - payload.keys()
        if missing:
            raise ValidationFailed("malformed event", details=f"missing {sorted(missing)}")
        event = EventEnvelope.model_validate(payload)
        model = EVENT_DATA.get(event.type)
        if model is None:
            raise ValidationFailed(f"unknown event type {event.type!r}")
        model.model_validate(event.data)
    except (ValidationError, ValueError) as error:
        raise ValidationFailed("malformed event", details=str(error)) from None
    return event

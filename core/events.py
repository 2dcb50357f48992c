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


class EnrollmentData(BaseModel):
    enrollment_id: int
    student_id: int
    course_id: int


class EnrollmentCompletedData(EnrollmentData):
    completed_at: datetime


class ProgressUpdatedData(EnrollmentData):
    lesson_id: int
    completion_percentage: float


class ModuleCompletedData(EnrollmentData):
    module_id: int


class CertificateIssuedData(EnrollmentData):
    certificate_id: int
    verification_code: str


EVENT_DATA: dict[str, type[BaseModel]] = {
    "user.registered": UserRegisteredData,
    "user.verified": UserVerifiedData,
    "course.created": CourseData,
    "course.published": CourseData,
    "course.updated": CourseData,
    "course.archived": CourseData,
    "enrollment.created": EnrollmentData,
    "enrollment.completed": EnrollmentCompletedData,
    "enrollment.dropped": EnrollmentData,
    # The waitlist: joined, admitted to a freed seat, left before a seat came.
    "enrollment.waitlisted": EnrollmentData,
    "enrollment.waitlist_admitted": EnrollmentData,
    "enrollment.waitlist_left": EnrollmentData,
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
# Seed 6.1: partition counts and retention per topic.
TOPICS: tuple[Topic, ...] = (
    Topic("user.events", 3, 7 * DAY_MS),
    Topic("course.events", 6, 7 * DAY_MS),
    Topic("enrollment.events", 6, 7 * DAY_MS),
    Topic("progress.events", 12, 3 * DAY_MS),
    Topic("notification.events", 3, 7 * DAY_MS),
    Topic("analytics.events", 3, 30 * DAY_MS),
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

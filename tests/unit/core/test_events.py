"""The event contract: envelopes, per-type data validation on both sides, and topic routing."""

import json

import pytest

from core.errors import ValidationFailed
from core.events import (
    EVENT_DATA,
    TOPICS,
    EnrollmentData,
    UserRegisteredData,
    make_event,
    parse_event,
    topic_for,
)


def test_every_seed_event_type_routes_to_a_declared_topic() -> None:
    declared = {topic.name for topic in TOPICS}
    assert {topic_for(event_type) for event_type in EVENT_DATA} <= declared


def test_topics_keep_the_seed_partition_counts() -> None:
    partitions = {topic.name: topic.partitions for topic in TOPICS}
    assert partitions["progress.events"] == 12
    assert partitions["course.events"] == partitions["enrollment.events"] == 6
    assert partitions["user.events"] == 3


def test_certificates_travel_with_enrollments() -> None:
    assert topic_for("certificate.issued") == "enrollment.events"


def test_an_unknown_event_type_has_no_topic() -> None:
    with pytest.raises(ValidationFailed):
        topic_for("invoice.paid")


def test_an_event_round_trips_through_json() -> None:
    event = make_event(
        "user.registered", "7", UserRegisteredData(user_id=7, role="student"), "users"
    )
    parsed = parse_event(event.model_dump_json().encode())
    assert parsed == event


def test_make_event_refuses_the_wrong_data_model() -> None:
    data = EnrollmentData(enrollment_id=1, student_id=2, course_id=3)
    with pytest.raises(ValidationFailed):
        make_event("user.registered", "1", data, "users")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda raw: raw.update(type="invoice.paid"),
        lambda raw: raw["data"].pop("role"),
        lambda raw: raw.pop("id"),
    ],
)
def test_parse_event_refuses_unknown_types_and_bad_data(mutate) -> None:
    event = make_event(
        "user.registered", "7", UserRegisteredData(user_id=7, role="student"), "users"
    )
    raw = json.loads(event.model_dump_json())
    mutate(raw)
    with pytest.raises(ValidationFailed):
        parse_event(raw)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"'])
def test_parse_event_refuses_bytes_that_are_not_a_json_object(raw: bytes) -> None:
    with pytest.raises(ValidationFailed):
        parse_event(raw)


def test_no_topic_is_declared_without_a_writer() -> None:
    # Derived analytics figures are rows in analytics_metrics, read by /analytics; sent notices
    # are rows in notifications. Every declared topic is where some event type is published.
    assert {topic.name for topic in TOPICS} == {topic_for(kind) for kind in EVENT_DATA}

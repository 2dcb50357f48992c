"""Tracing end to end, exported over OTLP as to Jaeger: one lesson completion is one trace
from the gateway through the shard actor to the group commit that made it durable, and an
enrollment's trace follows its event through Kafka into the consumers."""

import httpx

from tests.conftest import System
from tests.e2e.accounts import account
from tests.e2e.catalog import active_enrollment, lesson_ids, poll, published_course
from tests.otlp import Collector, ReceivedSpan

ROUTE_SPAN = "POST /lessons/{lesson_id}/complete"
ENROLL_SPAN = "POST /enrollments"


def chain(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[str]:
    """The names from `span` up to its trace's root, following parent ids."""
    by_id = {candidate.span_id: candidate for candidate in spans}
    names = [span.name]
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        names.append(span.name)
    return names


async def test_a_lesson_completion_is_one_trace_from_gateway_to_commit(
    client: httpx.AsyncClient, system: System, traces: Collector
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner)
    await active_enrollment(client, student, course["id"])
    lesson = lesson_ids(course)[0]
    seen = {span.trace_id for span in traces.named(ROUTE_SPAN)}
    answer = await client.post(f"/lessons/{lesson}/complete", headers=student.headers)
    assert answer.status_code == 200, answer.text

    async def exported() -> list[ReceivedSpan] | None:
        new = [span for span in traces.named(ROUTE_SPAN) if span.trace_id not in seen]
        if not new:
            return None
        spans = traces.trace(new[0].trace_id)
        names = {span.name for span in spans}
        return spans if {"shard Complete", "postgres group commit"} <= names else None

    spans = await poll(exported)
    commit = next(span for span in spans if span.name == "postgres group commit")
    path = chain(commit, spans)
    assert path[:2] == ["postgres group commit", "shard Complete"], path
    assert ROUTE_SPAN in path[2:], path
    shard = next(span for span in spans if span.name == "shard Complete")
    assert shard.service == commit.service == "smartcourse-shard"
    route = next(span for span in spans if span.name == ROUTE_SPAN)
    assert route.service != "smartcourse-shard"


async def test_an_enrollment_trace_reaches_the_workflow_and_the_event_consumers(
    client: httpx.AsyncClient, system: System, traces: Collector
) -> None:
    """Temporal's interceptor carries the request's trace into the enrollment workflow's
    activities; the outbox keeps it and the relay sends it as Kafka headers, so the consumers'
    work on `enrollment.created` joins the same trace."""
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner)
    seen = {span.trace_id for span in traces.named(ENROLL_SPAN)}
    answer = await client.post(
        "/enrollments", json={"course_id": course["id"]}, headers=student.headers
    )
    assert answer.status_code == 202, answer.text

    async def followed() -> list[ReceivedSpan] | None:
        new = [span for span in traces.named(ENROLL_SPAN) if span.trace_id not in seen]
        if not new:
            return None
        spans = traces.trace(new[0].trace_id)
        consumers = {s.service for s in spans if s.name == "consume enrollment.created"}
        activities = {s.name for s in spans if s.service == "smartcourse-workflows"}
        # Each process exports its spans in its own batches: wait for every span asserted below.
        started = any(s.name == "StartWorkflow:EnrollmentWorkflow" for s in spans)
        done = len(consumers) >= 2 and "RunActivity:activate_enrollment" in activities and started
        return spans if done else None

    spans = await poll(followed)
    consumers = {s.service for s in spans if s.name == "consume enrollment.created"}
    assert {"smartcourse-analytics-consumer", "smartcourse-notification-consumer"} <= consumers
    assert any(s.name == "StartWorkflow:EnrollmentWorkflow" for s in spans)

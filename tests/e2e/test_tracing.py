"""Tracing end to end, exported over OTLP as to Jaeger: one lesson completion is one trace
from the gateway through the shard actor to the group commit that made it durable, and an
enrollment's trace follows its event through Kafka into the consumers."""

import uuid

import httpx

from gateway.observability import REQUEST_ID_ATTRIBUTE
from tests.conftest import System
from tests.e2e.accounts import account
from tests.e2e.catalog import active_enrollment, lesson_ids, poll, published_course
from tests.otlp import Collector, ReceivedSpan

ROUTE_SPAN = "POST /lessons/{lesson_id}/complete"
ENROLL_SPAN = "POST /enrollments"


def own_trace(traces: Collector, route: str, request_id: str) -> list[ReceivedSpan] | None:
    """The spans received so far of the trace whose `route` span is the request `request_id`.
    (Not "the first new trace": an earlier test's spans may still arrive after a request.)"""
    span = next(
        (s for s in traces.named(route) if s.attributes.get(REQUEST_ID_ATTRIBUTE) == request_id),
        None,
    )
    return None if span is None else traces.trace(span.trace_id)


def traced(headers: dict[str, str]) -> tuple[dict[str, str], str]:
    """`headers` with a request id of the test's own, and that id."""
    request_id = f"test-{uuid.uuid4().hex}"
    return {**headers, "x-request-id": request_id}, request_id


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
    headers, request_id = traced(student.headers)
    answer = await client.post(f"/lessons/{lesson}/complete", headers=headers)
    assert answer.status_code == 200, answer.text

    async def exported() -> list[ReceivedSpan] | None:
        spans = own_trace(traces, ROUTE_SPAN, request_id) or []
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
    headers, request_id = traced(student.headers)
    answer = await client.post("/enrollments", json={"course_id": course["id"]}, headers=headers)
    assert answer.status_code == 202, answer.text

    async def followed() -> list[ReceivedSpan] | None:
        spans = own_trace(traces, ENROLL_SPAN, request_id)
        if spans is None:
            return None
        consumers = {s.service for s in spans if s.name == "consume enrollment.created"}
        activities = {s.name for s in spans if s.service == "smartcourse-workflows"}
        # Each process exports its spans in its own batches: wait for every span asserted below.
        started = any(s.name == "StartWorkflow:EnrollmentWorkflow" for s in spans)
        done = len(consumers) >= 2 and "RunActivity:set_up_enrollment" in activities and started
        return spans if done else None

    spans = await poll(followed)
    consumers = {s.service for s in spans if s.name == "consume enrollment.created"}
    assert {"smartcourse-analytics-consumer", "smartcourse-notification-consumer"} <= consumers
    assert any(s.name == "StartWorkflow:EnrollmentWorkflow" for s in spans)

"""The gateway skeleton over real HTTP: health, readiness, docs, metrics and the error envelope."""

import httpx

from serve.stack import LocalStack
from tests.conftest import System, frozen
from tests.e2e.accounts import account
from tests.e2e.catalog import active_enrollment, poll, published_course


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# API.md, Operations: the stuck pipelines /readyz names (`shards`: a shard that does not answer).
PIPELINES = ("outbox", "consumers", "celery", "temporal_worker", "shards")


async def test_readyz_lists_every_dependency_as_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    dependencies = response.json()["dependencies"]
    assert set(dependencies) == {"postgres", "redis", "rabbitmq", "kafka", "temporal", "s3"}
    assert set(dependencies.values()) == {"ok"}
    flows = response.json()["pipelines"]
    assert flows == {name: "ok" for name in PIPELINES}


async def test_status_is_for_admins_and_carries_the_figures(
    client: httpx.AsyncClient, system: System
) -> None:
    student = await account(system.settings)
    assert (await client.get("/status")).status_code == 401
    assert_envelope(await client.get("/status", headers=student.headers), 403, "forbidden")
    admin = await account(system.settings, "admin")
    response = await client.get("/status", headers=admin.headers)
    assert response.status_code == 200, response.text
    status = response.json()
    assert set(status["pipelines"]) == set(PIPELINES)
    assert status["outbox"]["backlog"] >= 0
    assert "temporal_worker" in status["heartbeat_ages_seconds"]
    assert set(status["consumer_lag"]) == {
        "notification-consumer",
        "analytics-consumer",
        "content-consumer",
        "certificate-consumer",
    }
    assert status["celery_workers"]
    assert status["temporal"]["pollers"] >= 1
    assert all("messages" in depth for depth in status["queues"].values())


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "SmartCourse API"
    assert "/healthz" in spec["paths"]
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_unknown_path_answers_404_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/no/such/path"), 404, "not_found")


async def test_wrong_method_answers_405_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.delete("/healthz"), 405, "method_not_allowed")


async def test_a_body_over_the_limit_answers_413_envelope(
    client: httpx.AsyncClient, system: System
) -> None:
    body = b"x" * (system.settings.request_body_max_bytes + 1)
    response = await client.post(
        "/auth/register", content=body, headers={"content-type": "application/json"}
    )
    assert_envelope(response, 413, "payload_too_large")


async def test_a_chunked_body_over_the_limit_answers_413_envelope(
    client: httpx.AsyncClient, system: System
) -> None:
    chunk = b"x" * 65536
    chunks = system.settings.request_body_max_bytes // len(chunk) + 2

    async def body():  # no Content-Length: httpx sends it chunked
        for _ in range(chunks):
            yield chunk

    response = await client.post(
        "/auth/register", content=body(), headers={"content-type": "application/json"}
    )
    assert_envelope(response, 413, "payload_too_large")


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    own = await client.get("/healthz", headers={"x-request-id": "trace-me-123"})
    assert own.headers["x-request-id"] == "trace-me-123"
    generated = await client.get("/no/such/path")
    assert generated.headers.get("x-request-id")


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/no/such/path/42")
    text = (await client.get("/metrics")).text
    assert 'smartcourse_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="unmatched"' in text
    assert (
        'smartcourse_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}'
        in text
    )
    assert "/no/such/path/42" not in text
    # The gauges the scrape refreshes come out of the replicas' shared samples too.
    assert 'smartcourse_pipeline_ready{pipeline="outbox"}' in text
    assert "smartcourse_outbox_oldest_pending_seconds" in text


async def test_readyz_names_a_hung_dependency_and_events_flow_once_it_answers(
    client: httpx.AsyncClient, servers: LocalStack, system: System
) -> None:
    """The broker is frozen (SIGSTOP), not restarted: the local broker keeps its log in memory,
    and a restart would take the topics and group offsets of every later test with it."""
    with frozen(servers, "kafka"):
        response = await client.get("/readyz")
    error = assert_envelope(response, 503, "dependency_unavailable")
    assert "kafka" in error["message"]
    assert error["details"]["kafka"] != "ok"
    assert error["details"]["postgres"] == "ok"
    assert response.headers["retry-after"]
    assert (await client.get("/readyz")).status_code == 200
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner, modules=1, lessons=1)
    await active_enrollment(client, student, course["id"])

    async def welcomed() -> bool:
        notes = (await client.get("/notifications", headers=student.headers)).json()["items"]
        return any(note["kind"] == "enrollment_welcome" for note in notes)

    async def counted() -> bool:
        figures = await client.get(f"/analytics/courses/{course['id']}", headers=owner.headers)
        return figures.json()["enrollments"] == 1

    await poll(welcomed)
    await poll(counted)

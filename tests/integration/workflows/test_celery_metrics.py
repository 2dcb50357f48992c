"""The Celery worker counts its tasks' outcomes and run times where Prometheus scrapes them: the
tasks run in the prefork pool's children, and the worker's own port reports them all. A metrics
port that is taken costs the metrics, never the worker."""

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from core.emails import EmailRequest
from core.settings import Settings
from serve.celery_worker import start_celery_worker
from tests.conftest import free_port
from workflows.celery_app import celery_for, delete_broker_objects
from workflows.tasks.email import SEND_EMAIL, enqueue_email, sent_key

DELAYS = [0, 0]
TASKS = "smartcourse_celery_tasks_total"
RUNTIME_COUNT = "smartcourse_celery_task_runtime_seconds_count"


@pytest.fixture
def metered(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A queue prefix of this test's own, instant retries, a metrics port, and an SMTP port
    nobody listens on, so every email that reaches SMTP fails."""
    own = settings.model_copy(
        update={
            "celery_queue_prefix": f"m{uuid.uuid4().hex[:10]}.",
            "celery_retry_delays_seconds": DELAYS,
            "celery_metrics_port": free_port(),
            "smtp_port": free_port(),
            "data_dir": tmp_path,
        }
    )
    yield own
    delete_broker_objects(own)


@pytest.fixture
def already_sent(metered: Settings) -> Iterator[str]:
    """A dedupe key marked as sent: an email with it succeeds without SMTP ("duplicate")."""
    markers = redis.Redis.from_url(metered.redis_url)
    key = f"metrics-test-{uuid.uuid4().hex}"
    markers.set(sent_key(key), 1, ex=300)
    yield key
    markers.delete(sent_key(key))
    markers.close()


def email(dedupe_key: str | None = None) -> EmailRequest:
    return EmailRequest(
        kind="course_archived",
        to="ada@example.com",
        name="Ada",
        context={"course_title": "X"},
        dedupe_key=dedupe_key,
    )


def scrape(settings: Settings) -> dict[tuple[str, frozenset], float]:
    url = f"http://{settings.http_host}:{settings.celery_metrics_port}/metrics"
    text = httpx.get(url, timeout=5).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def counted(settings: Settings) -> tuple[dict[str, float], float]:
    """The email task's outcomes, and its attempts timed, as the worker's port reports them."""
    samples = scrape(settings)
    outcomes = {
        dict(labels)["outcome"]: value
        for (name, labels), value in samples.items()
        if name == TASKS and dict(labels)["task"] == SEND_EMAIL
    }
    return outcomes, samples.get((RUNTIME_COUNT, frozenset({("task", SEND_EMAIL)})), 0.0)


def settled(settings: Settings, expected: tuple, deadline_seconds: float = 60) -> tuple:
    """What the port reports once it reaches `expected` (or once the deadline passed)."""
    deadline = time.monotonic() + deadline_seconds
    while (seen := counted(settings)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return seen


def test_outcomes_of_tasks_run_in_the_pool_are_counted_on_the_workers_port(
    metered: Settings, already_sent: str
) -> None:
    worker = start_celery_worker(metered)
    try:
        enqueue_email(metered, email(dedupe_key=already_sent))
        # Not a valid request: fails at once, no retry.
        celery_for(metered).send_task(SEND_EMAIL, args=[{"kind": "welcome"}])
        # SMTP refuses: one retry per delay, then the failure.
        enqueue_email(metered, email())
        outcomes = {"success": 1.0, "retry": float(len(DELAYS)), "failure": 2.0}
        # Every attempt is timed: the duplicate, the invalid one, and each SMTP attempt.
        attempts = 1.0 + 1.0 + len(DELAYS) + 1.0
        seen = settled(metered, (outcomes, attempts))
        # Nothing is counted twice (a failure seen by both a child and the main process).
        time.sleep(1)
        again = counted(metered)
    finally:
        worker.stop()
    assert seen == again == (outcomes, attempts)


def test_a_taken_metrics_port_leaves_the_worker_working(
    metered: Settings, already_sent: str
) -> None:
    with socket.create_server((metered.http_host, metered.celery_metrics_port)):
        worker = start_celery_worker(metered)
        try:
            task_id = enqueue_email(metered, email(dedupe_key=already_sent))
            result = celery_for(metered).AsyncResult(task_id).get(timeout=30)
        finally:
            worker.stop()
    assert result == "duplicate"
    assert "event=celery_metrics_off" in worker.log_path.read_text()

"""CertificateGenerationWorkflow on the real Temporal server, with a real Celery worker, S3
store and SMTP sink: one certificate per enrollment however often it is started, announced
once (the email follows from the event); an enrollment that is not completed gets none."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from core.settings import Settings
from serve.celery_worker import start_celery_worker
from serve.smtp_sink import read_mail, start_smtp_sink
from serve.stack import LocalStack
from storage.db import Database
from storage.models.outbox import OutboxEvent
from storage.repositories.certificate import CertificateRepository, enrollments
from storage.temporal import TemporalConnection
from tests.conftest import free_port
from tests.e2e.catalog import poll
from tests.integration.certificate_rows import completed_enrollment
from workflows.celery_app import delete_broker_objects
from workflows.celery_status import queue_depths
from workflows.certificates.activities import (
    CertificateActivities,
    CertificateRef,
    issued_event_id,
)
from workflows.certificates.workflow import CertificateGenerationWorkflow, CertificateOutcome


@pytest.fixture
def quiet_settings(database: Settings, servers: LocalStack, tmp_path: Path) -> Iterator[Settings]:
    """Queues, task queue and SMTP sink of the test's own, and no Celery worker yet."""
    own = database.model_copy(
        update={
            "celery_queue_prefix": f"t{uuid.uuid4().hex[:10]}.",
            "celery_retry_delays_seconds": [1, 1, 1],
            "temporal_task_queue": f"certificates-{uuid.uuid4().hex[:8]}",
            "smtp_port": free_port(),
            "data_dir": tmp_path,
        }
    )
    sink = start_smtp_sink(own)
    yield own
    sink.stop()
    delete_broker_objects(own)


@pytest.fixture
def own_settings(quiet_settings: Settings) -> Iterator[Settings]:
    worker = start_celery_worker(quiet_settings)
    yield quiet_settings
    worker.stop()


@pytest.fixture
async def temporal(quiet_settings: Settings, db: Database) -> AsyncIterator[Client]:
    client = await Client.connect(quiet_settings.temporal_address)
    activities = CertificateActivities(quiet_settings, db)
    async with Worker(
        client,
        task_queue=quiet_settings.temporal_task_queue,
        workflows=[CertificateGenerationWorkflow],
        activities=activities.all(),
    ):
        yield client


async def start(settings: Settings, enrollment_id: int) -> str:
    """The start the certificate consumer and POST /enrollments/{id}/certificate make."""
    return await TemporalConnection(settings).start_certificate(enrollment_id)


async def outcome(client: Client, workflow_id: str) -> CertificateOutcome:
    handle = client.get_workflow_handle(workflow_id, result_type=CertificateOutcome)
    return await handle.result()


async def test_starting_twice_issues_one_certificate_announced_once(
    temporal: Client, own_settings: Settings, db: Database
) -> None:
    name = f"Edsger Dijkstra {uuid.uuid4().hex[:6]}"
    enrollment_id = await completed_enrollment(db, name, course_title="Semaphores")
    first = await start(own_settings, enrollment_id)
    second = await start(own_settings, enrollment_id)
    assert first == second == f"certificate-{enrollment_id}"
    result = await outcome(temporal, first)
    # Started again after it finished: the finished run stands, nothing is issued anew.
    assert await start(own_settings, enrollment_id) == first
    assert await outcome(temporal, first) == result

    async with db.unit_of_work() as uow:
        certificate = await CertificateRepository(uow.session).by_enrollment(enrollment_id)
        linked = await uow.session.scalar(
            select(enrollments.c.certificate_id).where(enrollments.c.id == enrollment_id)
        )
        events = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(
                OutboxEvent.event_type == "certificate.issued",
                OutboxEvent.key == str(enrollment_id),
            )
        )
    assert certificate is not None and linked == certificate.id == result.certificate_id
    assert certificate.pdf_object_key == result.pdf_object_key
    assert events == 1

    # The email is the notification consumer's (tests/e2e/test_certificates.py): the
    # workflow itself sends none.
    assert not [m for m in read_mail(own_settings) if name in m["To"]]


async def test_announcing_again_adds_no_second_event(
    temporal: Client, own_settings: Settings, db: Database
) -> None:
    enrollment_id = await completed_enrollment(db, "Tony Hoare")
    result = await outcome(temporal, await start(own_settings, enrollment_id))
    activities = CertificateActivities(own_settings, db)
    ref = CertificateRef(result.certificate_id)
    assert await activities.announce(ref) is False
    async with db.unit_of_work() as uow:
        payload = await uow.session.scalar(
            select(OutboxEvent.payload).where(
                OutboxEvent.event_id == issued_event_id(result.certificate_id)
            )
        )
    assert payload is not None and payload["data"]["certificate_id"] == result.certificate_id


async def test_an_enrollment_not_completed_gets_no_certificate(
    temporal: Client, own_settings: Settings, db: Database
) -> None:
    enrollment_id = await completed_enrollment(db, "Ken Thompson", status="active")
    workflow_id = await start(own_settings, enrollment_id)
    with pytest.raises(WorkflowFailureError):
        await outcome(temporal, workflow_id)
    async with db.unit_of_work() as uow:
        assert await CertificateRepository(uow.session).by_enrollment(enrollment_id) is None


async def test_the_render_waits_idle_until_a_celery_worker_is_back(
    temporal: Client, quiet_settings: Settings, db: Database
) -> None:
    """No worker: the activity has handed over its token and nothing runs or polls; the task
    waits in RabbitMQ, and the first worker to come renders it and completes the activity."""
    enrollment_id = await completed_enrollment(db, "Barbara Liskov")
    workflow_id = await start(quiet_settings, enrollment_id)
    handle = temporal.get_workflow_handle(workflow_id)

    async def waiting() -> list:
        pending = (await handle.describe()).raw_description.pending_activities
        return [p for p in pending if p.activity_type.name == "certificate.render_pdf"]

    async def queued() -> bool:
        depths = await asyncio.to_thread(queue_depths, quiet_settings)
        return depths[f"{quiet_settings.celery_queue_prefix}certificate_queue"]["messages"] == 1

    [pending] = await poll(waiting)
    await poll(queued)
    assert pending.attempt == 1 and not pending.HasField("last_heartbeat_time")
    worker = start_celery_worker(quiet_settings)
    try:
        result = await outcome(temporal, workflow_id)
    finally:
        worker.stop()
    async with db.unit_of_work() as uow:
        certificate = await CertificateRepository(uow.session).by_enrollment(enrollment_id)
    assert certificate is not None and certificate.pdf_object_key == result.pdf_object_key

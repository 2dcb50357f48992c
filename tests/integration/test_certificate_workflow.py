"""CertificateGenerationWorkflow on the real Temporal server, with a real Celery worker, S3
store and SMTP sink: one certificate per enrollment however often it is started, announced
once (the email follows from the event); an enrollment that is not completed gets none."""

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
from tests.conftest import free_port
from tests.integration.certificate_rows import completed_enrollment
from workflows.celery_app import delete_broker_objects
from workflows.certificate_activities import (
    CertificateActivities,
    CertificateRef,
    issued_event_id,
)
from workflows.certificates import (
    CertificateGenerationWorkflow,
    CertificateOutcome,
    start_certificate_workflow,
)


@pytest.fixture
def own_settings(database: Settings, servers: LocalStack, tmp_path: Path) -> Iterator[Settings]:
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
    worker = start_celery_worker(own)
    yield own
    worker.stop()
    sink.stop()
    delete_broker_objects(own)


@pytest.fixture
async def temporal(own_settings: Settings, db: Database) -> AsyncIterator[Client]:
    client = await Client.connect(own_settings.temporal_address)
    activities = CertificateActivities(own_settings, db)
    async with Worker(
        client,
        task_queue=own_settings.temporal_task_queue,
        workflows=[CertificateGenerationWorkflow],
        activities=activities.all(),
    ):
        yield client


async def outcome(client: Client, workflow_id: str) -> CertificateOutcome:
    handle = client.get_workflow_handle(workflow_id, result_type=CertificateOutcome)
    return await handle.result()


async def test_starting_twice_issues_one_certificate_announced_once(
    temporal: Client, own_settings: Settings, db: Database
) -> None:
    name = f"Edsger Dijkstra {uuid.uuid4().hex[:6]}"
    enrollment_id = await completed_enrollment(db, name, course_title="Semaphores")
    first = await start_certificate_workflow(temporal, own_settings, enrollment_id)
    second = await start_certificate_workflow(temporal, own_settings, enrollment_id)
    assert first == second == f"certificate-{enrollment_id}"
    result = await outcome(temporal, first)
    # Started again after it finished: the finished run stands, nothing is issued anew.
    assert await start_certificate_workflow(temporal, own_settings, enrollment_id) == first
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
    result = await outcome(
        temporal, await start_certificate_workflow(temporal, own_settings, enrollment_id)
    )
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
    workflow_id = await start_certificate_workflow(temporal, own_settings, enrollment_id)
    with pytest.raises(WorkflowFailureError):
        await outcome(temporal, workflow_id)
    async with db.unit_of_work() as uow:
        assert await CertificateRepository(uow.session).by_enrollment(enrollment_id) is None

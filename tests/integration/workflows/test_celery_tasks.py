"""Celery against the real RabbitMQ, Redis, PostgreSQL and S3 store, with real worker processes:
retries with backoff end in `failed_tasks`, the PDF task stores a real PDF once, a worker
killed in the middle of a PDF loses nothing and duplicates nothing, and SMS and push reach
their sink once per key (or, provider down, the dead-letter queue)."""

import asyncio
import io
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from core.emails import EmailRequest
from core.settings import Settings
from serve.celery_worker import CeleryWorker, start_celery_worker
from serve.stack import LocalStack
from storage.db import Database
from storage.health import s3_client
from storage.repositories.certificate import CertificateRecord, CertificateRepository
from storage.temporal import CertificateRequest
from tests.conftest import free_port
from tests.integration.certificate_rows import completed_enrollment
from workflows.celery_app import celery_for, delete_broker_objects, queue_name
from workflows.certificates.activities import CertificateActivities
from workflows.queues import enqueue_certificate_pdf
from workflows.tasks.certificates import pdf_key
from workflows.tasks.email import enqueue_email
from workflows.tasks.messages import enqueue_message
from workflows.tasks.providers import OutboundMessage, read_messages

DELAYS = [1, 1, 1]


@pytest.fixture
def celery_settings(database: Settings, servers: LocalStack, tmp_path: Path) -> Iterator[Settings]:
    """A queue prefix of this test's own, so no other worker takes its tasks; tiny delays."""
    own = database.model_copy(
        update={
            "celery_queue_prefix": f"t{uuid.uuid4().hex[:10]}.",
            "celery_retry_delays_seconds": DELAYS,
            "data_dir": tmp_path,
        }
    )
    yield own
    delete_broker_objects(own)


@pytest.fixture
def worker(celery_settings: Settings) -> Iterator[CeleryWorker]:
    handle = start_celery_worker(celery_settings)
    yield handle
    handle.stop()


async def issued(db: Database, settings: Settings, student_name: str) -> CertificateRecord:
    enrollment_id = await completed_enrollment(db, student_name)
    issued = await CertificateActivities(settings, db).issue(CertificateRequest(enrollment_id))
    return await stored(db, issued.certificate_id)


async def stored(db: Database, certificate_id: int) -> CertificateRecord:
    async with db.unit_of_work() as uow:
        found = await CertificateRepository(uow.session).get(certificate_id)
    assert found is not None
    return found


async def rendered(db: Database, certificate_id: int, deadline_seconds: float = 30) -> str:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        key = (await stored(db, certificate_id)).pdf_object_key
        if key:
            return key
        await asyncio.sleep(0.1)
    raise AssertionError(f"certificate {certificate_id} has no PDF after {deadline_seconds}s")


def dead_letter(settings: Settings, deadline_seconds: float = 30):
    queue = queue_name(settings, "failed_tasks")
    with celery_for(settings).connection_for_write() as conn:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            message = conn.default_channel.basic_get(queue, no_ack=True)
            if message is not None:
                return message
            time.sleep(0.1)
    raise AssertionError(f"nothing reached {queue} within {deadline_seconds}s")


def stored_pdf(settings: Settings, key: str) -> bytes:
    return s3_client(settings).get_object(Bucket=settings.s3_bucket, Key=key)["Body"].read()


def test_failing_task_is_retried_with_backoff_then_dead_lettered(celery_settings: Settings) -> None:
    nobody_listens = celery_settings.model_copy(update={"smtp_port": free_port()})
    worker = start_celery_worker(nobody_listens)
    try:
        began = time.monotonic()
        request = EmailRequest(
            kind="course_archived", to="ada@example.com", name="Ada", context={"course_title": "X"}
        )
        task_id = enqueue_email(nobody_listens, request)
        message = dead_letter(nobody_listens)
        waited = time.monotonic() - began
    finally:
        worker.stop()
    headers = message.headers
    assert headers["id"] == task_id and headers["task"] == "smartcourse.email.send"
    # The first attempt and one retry per delay, each retry after its delay, then rejected.
    assert headers["retries"] == len(DELAYS)
    assert waited >= sum(DELAYS)
    assert headers["x-death"][0]["reason"] == "rejected"
    assert headers["x-first-death-queue"] == queue_name(nobody_listens, "email_queue")


async def test_pdf_task_stores_a_pdf_with_the_students_name(
    db: Database, celery_settings: Settings, worker: CeleryWorker
) -> None:
    name = f"Grace Hopper {uuid.uuid4().hex[:6]}"
    certificate = await issued(db, celery_settings, name)
    enqueue_certificate_pdf(celery_settings, certificate.id)
    key = await rendered(db, certificate.id)
    document = stored_pdf(celery_settings, key)
    assert document.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(document)).pages[0].extract_text()
    assert name in text and certificate.verification_code in text
    assert f"/certificates/verify/{certificate.verification_code}" in text


async def test_rendering_and_issuing_again_change_nothing(
    db: Database, celery_settings: Settings, worker: CeleryWorker
) -> None:
    certificate = await issued(db, celery_settings, "Alan Turing")
    enqueue_certificate_pdf(celery_settings, certificate.id)
    await rendered(db, certificate.id)
    first = await stored(db, certificate.id)

    results = celery_for(celery_settings)
    again = enqueue_certificate_pdf(celery_settings, certificate.id)
    assert results.AsyncResult(again).get(timeout=20) == first.pdf_object_key
    assert await stored(db, certificate.id) == first

    activities = CertificateActivities(celery_settings, db)
    reissued = await activities.issue(CertificateRequest(certificate.enrollment_id))
    assert (reissued.certificate_id, reissued.created) == (certificate.id, False)


class HungStore:
    """A TCP server that accepts an S3 request and never answers: a task uploading to it is
    stuck mid-PDF, rendered but not stored, until someone kills its worker."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.request_seen = threading.Event()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(conn)
            if conn.recv(65536):
                self.request_seen.set()

    def close(self) -> None:
        self.server.close()
        for conn in self.connections:
            conn.close()


async def test_worker_killed_mid_pdf_leaves_one_certificate_with_its_pdf(
    db: Database, celery_settings: Settings
) -> None:
    certificate = await issued(db, celery_settings, "Barbara Liskov")
    hung = HungStore()
    stuck = celery_settings.model_copy(update={"s3_endpoint_url": f"http://127.0.0.1:{hung.port}"})
    doomed = start_celery_worker(stuck, name="doomed")
    survivor = None
    try:
        task_id = enqueue_certificate_pdf(celery_settings, certificate.id)
        assert hung.request_seen.wait(30), "the task never reached the upload"
        assert (await stored(db, certificate.id)).pdf_object_key is None
        doomed.kill()

        survivor = start_celery_worker(celery_settings, name="survivor")
        key = await rendered(db, certificate.id)
    finally:
        doomed.stop()
        if survivor is not None:
            survivor.stop()
        hung.close()
    assert key == pdf_key(certificate.id)
    assert task_id in survivor.log_path.read_text()  # the same message, redelivered
    async with db.unit_of_work() as uow:
        only = await CertificateRepository(uow.session).by_enrollment(certificate.enrollment_id)
    assert only is not None and only.id == certificate.id and only.pdf_object_key == key
    listed = s3_client(celery_settings).list_objects_v2(
        Bucket=celery_settings.s3_bucket, Prefix=key
    )
    assert [item["Key"] for item in listed["Contents"]] == [key]
    assert stored_pdf(celery_settings, key).startswith(b"%PDF")


def test_sms_and_push_reach_the_local_sink_once_per_key(
    celery_settings: Settings, worker: CeleryWorker
) -> None:
    for channel in ("sms", "push"):
        message = OutboundMessage(
            channel=channel,
            user_id=7,
            kind="reminder",
            body="Hi",
            dedupe_key=f"k:{uuid.uuid4().hex}",
        )
        outcomes = [
            celery_for(celery_settings)
            .AsyncResult(enqueue_message(celery_settings, message))
            .get(timeout=30)
            for _ in range(2)
        ]
        assert outcomes == ["sent", "duplicate"]
        [stored_message] = read_messages(celery_settings, channel)
        assert stored_message["user_id"] == 7 and stored_message["body"] == "Hi"


def test_an_unreachable_sms_provider_is_retried_then_dead_lettered(
    celery_settings: Settings,
) -> None:
    down = celery_settings.model_copy(
        update={
            "sms_provider": "http",
            "sms_provider_url": f"http://127.0.0.1:{free_port()}/sms",
            "provider_timeout_seconds": 1.0,
        }
    )
    worker = start_celery_worker(down)
    try:
        message = OutboundMessage(
            channel="sms", user_id=7, kind="reminder", body="Hi", dedupe_key="k:down"
        )
        task_id = enqueue_message(down, message)
        dead = dead_letter(down)
    finally:
        worker.stop()
    assert dead.headers["id"] == task_id and dead.headers["task"] == "smartcourse.sms.send"
    assert dead.headers["retries"] == len(DELAYS)
    assert dead.headers["x-first-death-queue"] == queue_name(down, "sms_queue")

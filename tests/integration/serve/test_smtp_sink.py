"""The local SMTP sink keeps what was sent over real SMTP, and the email task delivers to it:
the right recipient, subject and body per kind, once per dedupe key."""

import logging
import smtplib
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from core.emails import EmailRequest
from core.logs import ConsoleFilter
from core.settings import Settings
from serve.celery_worker import start_celery_worker
from serve.smtp_sink import SmtpSink, read_mail, start_smtp_sink
from tests.conftest import free_port
from workflows.celery_app import celery_for, delete_broker_objects
from workflows.tasks.email import enqueue_email


@pytest.fixture
def mail_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "data_dir": tmp_path,
            "smtp_port": free_port(),
            "celery_queue_prefix": f"t{uuid.uuid4().hex[:10]}.",
            "celery_retry_delays_seconds": [1, 1, 1],
        }
    )


@pytest.fixture
def sink(mail_settings: Settings) -> Iterator[SmtpSink]:
    handle = start_smtp_sink(mail_settings)
    yield handle
    handle.stop()


def wait_for_mail(settings: Settings, count: int, deadline_seconds: float = 20) -> list:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        mail = read_mail(settings)
        if len(mail) >= count:
            return mail
        time.sleep(0.1)
    raise AssertionError(f"expected {count} message(s), the sink has {len(read_mail(settings))}")


def test_sink_keeps_a_message_sent_over_smtp(mail_settings: Settings, sink: SmtpSink) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Hi"
    message.set_content("Hello there")
    with smtplib.SMTP(mail_settings.smtp_host, mail_settings.smtp_port, timeout=5) as smtp:
        smtp.send_message(message)
    [received] = wait_for_mail(mail_settings, 1)
    assert received["Subject"] == "Hi" and received["To"] == "b@example.com"
    assert received.get_content().strip() == "Hello there"


def test_a_received_message_is_logged_for_the_file_only(
    mail_settings: Settings, sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    """One line per message is routine: the console of `smartcourse up` does not show it."""
    smtp = smtplib.SMTP(mail_settings.smtp_host, mail_settings.smtp_port, timeout=5)
    with caplog.at_level(logging.INFO, logger="serve.smtp_sink"), smtp:
        # The sink logs before it answers 250, so the line is there when this returns.
        smtp.sendmail("a@example.com", ["b@example.com"], b"Subject: Hi\r\n\r\nHello")
    [line] = [r for r in caplog.records if "smtp_sink_received" in r.getMessage()]
    assert not ConsoleFilter().filter(line)


def test_a_failed_write_answers_451_and_the_sink_keeps_serving(
    mail_settings: Settings, sink: SmtpSink
) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Hi"
    message.set_content("Hello there")
    sink.folder.rmdir()
    sink.folder.write_text("not a folder")  # every write into it fails
    smtp = smtplib.SMTP(mail_settings.smtp_host, mail_settings.smtp_port, timeout=5)
    with smtp, pytest.raises(smtplib.SMTPDataError) as refused:
        smtp.send_message(message)
    assert refused.value.smtp_code == 451
    sink.folder.unlink()
    sink.folder.mkdir()
    with smtplib.SMTP(mail_settings.smtp_host, mail_settings.smtp_port, timeout=5) as smtp:
        smtp.send_message(message)
    assert len(wait_for_mail(mail_settings, 1)) == 1
    assert sink.exited() is None


def test_a_second_sink_on_the_same_port_reuses_the_first(
    mail_settings: Settings, sink: SmtpSink
) -> None:
    second = start_smtp_sink(mail_settings)
    assert second.reused and not sink.reused
    second.stop()
    with smtplib.SMTP(mail_settings.smtp_host, mail_settings.smtp_port, timeout=5) as smtp:
        assert smtp.noop()[0] == 250


def test_email_task_delivers_each_dedupe_key_once(mail_settings: Settings, sink: SmtpSink) -> None:
    worker = start_celery_worker(mail_settings)
    try:
        request = EmailRequest(
            kind="module_completed",
            to="grace@example.com",
            name="Grace Hopper",
            context={"module_title": "Compilers", "course_title": "Languages"},
            dedupe_key=f"module:{uuid.uuid4()}",
        )
        results = celery_for(mail_settings)
        first = enqueue_email(mail_settings, request)
        assert results.AsyncResult(first).get(timeout=20) == "sent"
        [received] = read_mail(mail_settings)
        assert received["To"] == "Grace Hopper <grace@example.com>"
        assert received["Subject"] == "Module completed: Compilers"
        assert received["X-SmartCourse-Kind"] == "module_completed"
        assert '"Compilers" in "Languages"' in received.get_content()

        again = enqueue_email(mail_settings, request)
        assert results.AsyncResult(again).get(timeout=20) == "duplicate"
        assert len(read_mail(mail_settings)) == 1
    finally:
        worker.stop()
        delete_broker_objects(mail_settings)

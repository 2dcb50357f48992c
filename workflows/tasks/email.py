"""Email over SMTP as a Celery task on `email_queue`, and the hand-off producers call.

The task renders the template of the request's kind and sends it to the configured SMTP server
(the local sink in development and tests). A request with a `dedupe_key` is sent at most once
per key: a redelivered or retried task finds the Redis marker and stops. Recipients' addresses
never reach the logs.
"""

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from pydantic import ValidationError

from core.emails import EmailRequest, render
from core.settings import Settings, get_settings
from storage.sent_markers import send_once
from workflows.celery_app import BackoffTask, app, celery_for

log = logging.getLogger(__name__)
SEND_EMAIL = "smartcourse.email.send"


def sent_key(dedupe_key: str) -> str:
    return f"email_sent:{dedupe_key}"


def build_message(settings: Settings, request: EmailRequest) -> EmailMessage:
    rendered = render(request)
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = formataddr((request.name, request.to))
    message["Subject"] = rendered.subject
    message["Message-ID"] = make_msgid(domain="smartcourse.local")
    message["X-SmartCourse-Kind"] = request.kind
    message.set_content(rendered.body)
    return message


def deliver(settings: Settings, message: EmailMessage) -> None:
    """One SMTP session; any failure raises, and the task's retries take over."""
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)


@app.task(name=SEND_EMAIL, base=BackoffTask, bind=True, dont_autoretry_for=(ValidationError,))
def send_email(self: BackoffTask, payload: dict) -> str:
    """Send one email; answers "sent", or "duplicate" when its dedupe key was already sent."""
    request = EmailRequest.model_validate(payload)
    settings = get_settings()
    key = sent_key(request.dedupe_key) if request.dedupe_key else None
    if not send_once(settings, key, lambda: deliver(settings, build_message(settings, request))):
        log.info("event=email_duplicate kind=%s task_id=%s", request.kind, self.request.id)
        return "duplicate"
    log.info(
        "event=email_sent kind=%s task_id=%s attempt=%d",
        request.kind,
        self.request.id,
        self.request.retries + 1,
    )
    return "sent"


def enqueue_email(settings: Settings, request: EmailRequest) -> str:
    """Hand one email to `email_queue` (blocking publish, confirmed by the broker); the task id."""
    # argsrepr is what monitoring shows of the arguments: the kind, never the address.
    result = celery_for(settings).send_task(
        SEND_EMAIL, args=[request.model_dump(mode="json")], argsrepr=f"({request.kind!r},)"
    )
    return result.id

"""SMS and push as Celery tasks (`sms_queue`, `push_queue`), sent through the provider the
settings choose, with the retry policy and dead-letter queue of every task (celery_app).

A message is sent at most once per dedupe key: a redelivered or retried task finds the Redis
marker and stops. Logs carry the kind and channel, never the text.
"""

import logging

from pydantic import ValidationError

from core.settings import Settings, get_settings
from storage.sent_markers import send_once
from workflows.celery_app import BackoffTask, app, celery_for
from workflows.tasks.providers import OutboundMessage, provider_for

log = logging.getLogger(__name__)
SEND_SMS = "smartcourse.sms.send"
SEND_PUSH = "smartcourse.push.send"
TASK_OF_CHANNEL = {"sms": SEND_SMS, "push": SEND_PUSH}


def sent_key(message: OutboundMessage) -> str:
    return f"{message.channel}_sent:{message.dedupe_key}"


def send(task: BackoffTask, payload: dict) -> str:
    message = OutboundMessage.model_validate(payload)
    settings = get_settings()
    if not send_once(
        settings, sent_key(message), lambda: provider_for(settings, message.channel).send(message)
    ):
        return "duplicate"
    log.info(
        "event=message_sent channel=%s kind=%s task_id=%s attempt=%d",
        message.channel,
        message.kind,
        task.request.id,
        task.request.retries + 1,
    )
    return "sent"


@app.task(name=SEND_SMS, base=BackoffTask, bind=True, dont_autoretry_for=(ValidationError,))
def send_sms(self: BackoffTask, payload: dict) -> str:
    """Send one SMS; "sent", or "duplicate" when its dedupe key was already sent."""
    return send(self, payload)


@app.task(name=SEND_PUSH, base=BackoffTask, bind=True, dont_autoretry_for=(ValidationError,))
def send_push(self: BackoffTask, payload: dict) -> str:
    """Send one push notification; "sent" or "duplicate"."""
    return send(self, payload)


def enqueue_message(settings: Settings, message: OutboundMessage) -> str:
    """Hand one message to its channel's queue (confirmed publish); the task id."""
    result = celery_for(settings).send_task(
        TASK_OF_CHANNEL[message.channel],
        args=[message.model_dump(mode="json")],
        argsrepr=f"({message.kind!r},)",
    )
    return result.id

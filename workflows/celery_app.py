"""The Celery application: RabbitMQ broker, Redis results, the seed's queues, late acks, retries
after the configured delays, and a dead-letter queue for tasks that ran out of attempts.

A task that still fails after its last retry is rejected without requeue; RabbitMQ then moves
its message through the dead-letter exchange into `failed_tasks`, where it waits for a human.
A worker that dies mid-task never acked its message, so the broker hands it to the next worker:
every task must therefore be idempotent.

`app` is what `celery -A workflows.celery_app worker` loads (settings from the environment);
producers in other processes use `celery_for(settings)`. A worker counts its tasks' outcomes
(`workflows.task_metrics`) and serves them on `celery_metrics_port` when that is set.
"""

import logging
from typing import Any

from celery import Celery, Task
from celery.signals import worker_init
from kombu import Exchange, Queue

from core.settings import Settings, get_settings
from workflows.task_metrics import serve_task_metrics

log = logging.getLogger(__name__)

QUEUES = ("email_queue", "sms_queue", "report_queue", "certificate_queue")
DEAD_LETTER_QUEUE = "failed_tasks"
TASK_MODULES = ("workflows.tasks.email", "workflows.tasks.certificates")
# Task name prefix → the queue its tasks are routed to.
ROUTES = {"smartcourse.email.": "email_queue", "smartcourse.certificates.": "certificate_queue"}


def queue_name(settings: Settings, name: str) -> str:
    return f"{settings.celery_queue_prefix}{name}"


def dead_letter_queue(prefix: str) -> Queue:
    exchange = Exchange(f"{prefix}dead_letter", type="direct", durable=True)
    return Queue(f"{prefix}{DEAD_LETTER_QUEUE}", exchange, routing_key=DEAD_LETTER_QUEUE)


def task_queues(prefix: str) -> tuple[Queue, ...]:
    """The work queues, each dead-lettering rejected messages into `failed_tasks`."""
    exchange = Exchange(f"{prefix}tasks", type="direct", durable=True)
    dead = dead_letter_queue(prefix)
    arguments = {
        "x-dead-letter-exchange": dead.exchange.name,
        "x-dead-letter-routing-key": DEAD_LETTER_QUEUE,
    }
    return tuple(
        Queue(f"{prefix}{name}", exchange, routing_key=name, queue_arguments=arguments)
        for name in QUEUES
    )


def router(prefix: str):
    """A Celery router: tasks go to the queue of their name's prefix (None: the default)."""

    def route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any):
        for task_prefix, queue in ROUTES.items():
            if name.startswith(task_prefix):
                return {"queue": f"{prefix}{queue}"}
        return None

    return route


class BackoffTask(Task):
    """Retries any exception after the configured delays (seed: 60 s, 300 s, 900 s), one retry
    per delay; after the last one the failure rejects the message into `failed_tasks`.
    Errors listed in a task's `dont_autoretry_for` fail at once."""

    autoretry_for = (Exception,)

    def retry(self, *args: Any, **options: Any):  # type: ignore[override]
        delays: list[int] = self.app.conf.smartcourse_retry_delays
        if options.get("countdown") is None and options.get("eta") is None:
            options["countdown"] = delays[min(self.request.retries, len(delays) - 1)]
        if options.get("max_retries") is None:
            options["max_retries"] = len(delays)
        return super().retry(*args, **options)


def create_app(settings: Settings) -> Celery:
    prefix = settings.celery_queue_prefix
    app = Celery("smartcourse", broker=settings.rabbitmq_url, backend=settings.redis_url)
    app.conf.update(
        task_queues=task_queues(prefix),
        task_default_queue=f"{prefix}email_queue",
        task_default_exchange=f"{prefix}tasks",
        task_default_routing_key="email_queue",
        task_create_missing_queues=False,
        task_routes=(router(prefix),),
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A failed task is rejected, not acked, so the broker dead-letters it.
        task_acks_on_failure_or_timeout=False,
        task_track_started=True,
        # Late acks hold a message per process; prefetching more would strand work on a
        # worker that is about to die.
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"confirm_publish": True},
        result_expires=24 * 3600,
        # Pings and other control messages stay within the prefix too: a readiness ping must
        # not be answered by another deployment's workers on the same broker.
        control_exchange=f"{prefix}celery",
        smartcourse_retry_delays=list(settings.celery_retry_delays_seconds) or [0],
        smartcourse_queue_prefix=prefix,
    )
    app.conf.include = list(TASK_MODULES)
    return app


def declare_dead_letter_queue(app: Celery) -> None:
    """Declare `failed_tasks` and its exchange; workers never consume it, so nobody else would."""
    prefix = app.conf.smartcourse_queue_prefix
    with app.connection_for_write() as conn:
        dead_letter_queue(prefix).bind(conn.default_channel).declare()


_producers: dict[tuple[str, str, str], Celery] = {}


def celery_for(settings: Settings) -> Celery:
    """The producer app of `settings` in this process (one per broker and queue prefix)."""
    key = (settings.rabbitmq_url, settings.redis_url, settings.celery_queue_prefix)
    if key not in _producers:
        _producers[key] = create_app(settings)
    return _producers[key]


app = create_app(get_settings())


@worker_init.connect
def on_worker_init(sender: Any = None, **kwargs: Any) -> None:
    declare_dead_letter_queue(app)
    queue = dead_letter_queue(app.conf.smartcourse_queue_prefix).name
    log.info("event=celery_worker_init dead_letter_queue=%s", queue)
    serve_task_metrics(get_settings())


def delete_broker_objects(settings: Settings) -> None:
    """Delete the queues and exchanges of the settings' prefix (test teardown; a prefix per
    test session would otherwise leave its queues on the shared broker)."""
    prefix = settings.celery_queue_prefix
    queues = (*task_queues(prefix), dead_letter_queue(prefix))
    with celery_for(settings).connection_for_write() as conn:
        channel = conn.default_channel
        for queue in queues:
            channel.queue_delete(queue.name)
        for exchange in {queue.exchange.name for queue in queues}:
            channel.exchange_delete(exchange)

"""The Celery configuration: the seed's queues dead-letter into `failed_tasks`, tasks are routed
by name, acks are late, and retries follow the configured delays."""

from core.settings import Settings
from workflows.celery_app import QUEUES, create_app, dead_letter_queue, task_queues


def test_every_work_queue_dead_letters_into_failed_tasks() -> None:
    dead = dead_letter_queue("p.")
    assert dead.name == "p.failed_tasks"
    queues = task_queues("p.")
    assert {queue.name for queue in queues} == {f"p.{name}" for name in QUEUES}
    for queue in queues:
        assert queue.queue_arguments["x-dead-letter-exchange"] == dead.exchange.name
        assert queue.queue_arguments["x-dead-letter-routing-key"] == dead.routing_key


def test_tasks_are_routed_to_their_queue_with_late_acks() -> None:
    app = create_app(Settings(celery_queue_prefix="p."))
    router = app.amqp.router
    assert router.route({}, "smartcourse.email.send")["queue"].name == "p.email_queue"
    certificate = router.route({}, "smartcourse.certificates.render_pdf")
    assert certificate["queue"].name == "p.certificate_queue"
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    # A failure must be rejected (not acked) for the broker to dead-letter it.
    assert app.conf.task_acks_on_failure_or_timeout is False


def test_retry_delays_come_from_settings() -> None:
    app = create_app(Settings(celery_retry_delays_seconds=[2, 4, 8]))
    assert app.conf.smartcourse_retry_delays == [2, 4, 8]
    assert Settings().celery_retry_delays_seconds == [60, 300, 900]

"""What the Celery side looks like from outside: which workers answer a ping (within the
deployment's queue prefix) and how many messages wait in each queue. Both block on the broker:
callers on an event loop run them in a thread."""

import contextlib

from core.settings import Settings
from workflows.celery_app import celery_for, dead_letter_queue, task_queues


def ping_timeout(settings: Settings) -> float:
    return min(1.0, settings.dependency_timeout_seconds / 2)


def celery_workers(settings: Settings, first_only: bool) -> list[str]:
    """Hostnames of the Celery workers answering a ping (blocking: run it in a thread)."""
    control = celery_for(settings).control
    replies = control.ping(timeout=ping_timeout(settings), limit=1 if first_only else None)
    return sorted(host for reply in replies or [] for host in reply)


def queue_depths(settings: Settings) -> dict[str, dict[str, int]]:
    """Messages waiting and consumers attached per Celery queue, `failed_tasks` included."""
    prefix = settings.celery_queue_prefix
    depths: dict[str, dict[str, int]] = {}
    with celery_for(settings).connection_for_read() as conn:
        for queue in (*task_queues(prefix), dead_letter_queue(prefix)):
            # A channel per queue: a passive declare of a missing queue closes its channel.
            channel = conn.channel()
            try:
                _, messages, consumers = channel.queue_declare(queue=queue.name, passive=True)
            except conn.channel_errors:
                messages, consumers = 0, 0
            finally:
                with contextlib.suppress(*conn.connection_errors, *conn.channel_errors):
                    channel.close()
            depths[queue.name] = {"messages": messages, "consumers": consumers}
    return depths

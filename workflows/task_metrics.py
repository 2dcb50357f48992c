"""Celery task outcomes (success, retry, failure) and run times as Prometheus metrics, served by
the worker's main process on `celery_metrics_port` (0: off).

Celery's task signals fire where a task runs: in the prefork pool's child processes, whose
counters a scrape of the main process would never see. So a worker with metrics on switches
prometheus_client to its multiprocess mode before the pool forks: every child writes its samples
to a file in a directory of this worker, and the main process sums the files at each scrape.
The solo pool runs tasks in the main process and takes the same path.
"""

import atexit
import logging
import os
import shutil
import tempfile
import threading
import time
from typing import Any

from celery import Task
from celery.signals import task_failure, task_postrun, task_prerun, task_retry, task_success
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    multiprocess,
    start_http_server,
    values,
)

from core.settings import Settings

log = logging.getLogger(__name__)

# In no registry: the worker serves them from the children's sample files alone.
TASKS = Counter(
    "smartcourse_celery_tasks_total",
    "Celery task outcomes: success, retry (an attempt that failed and was rescheduled), failure",
    ["task", "outcome"],
    registry=None,
)
RUNTIME = Histogram(
    "smartcourse_celery_task_runtime_seconds",
    "Celery task run time, one observation per attempt",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
    registry=None,
)
# Start times of the attempts running in this process, by task id and thread: in the threads
# pool a retry of a task can start on another thread before the failed attempt has ended.
_started: dict[tuple[str, int], float] = {}


@task_prerun.connect
def on_task_prerun(task_id: str, **kwargs: Any) -> None:
    _started[task_id, threading.get_ident()] = time.monotonic()


@task_postrun.connect
def on_task_postrun(task_id: str, task: Task, **kwargs: Any) -> None:
    began = _started.pop((task_id, threading.get_ident()), None)
    if began is not None:
        RUNTIME.labels(task.name).observe(time.monotonic() - began)


@task_success.connect
def on_task_success(sender: Task, **kwargs: Any) -> None:
    TASKS.labels(sender.name, "success").inc()


@task_retry.connect
def on_task_retry(sender: Task, **kwargs: Any) -> None:
    TASKS.labels(sender.name, "retry").inc()


@task_failure.connect
def on_task_failure(sender: Task, **kwargs: Any) -> None:
    TASKS.labels(sender.name, "failure").inc()


def serve_task_metrics(settings: Settings) -> str | None:
    """Serve the task metrics on the configured port; call in the worker's main process before
    the pool forks. Returns the directory of the sample files, or None when metrics are off or
    the port is taken (a worker without metrics still delivers email)."""
    port = settings.celery_metrics_port
    if not port:
        return None
    directory = tempfile.mkdtemp(prefix="smartcourse-celery-metrics-")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    try:
        start_http_server(port, addr=settings.http_host, registry=registry)
    except OSError as error:
        shutil.rmtree(directory, ignore_errors=True)
        log.warning("event=celery_metrics_off port=%d error=%s", port, error)
        return None
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    # prometheus_client picks its value class when first imported, before a process knows it is
    # a worker; values created from now on (the children's labelled samples) go to the files.
    values.ValueClass = values.MultiProcessValue()
    # Pool children leave through os._exit, so only the main process removes the directory.
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    log.info("event=celery_metrics_serving port=%d", port)
    return directory

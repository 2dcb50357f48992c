"""The Temporal SDK's own metrics (workflow and activity outcomes, latencies, task slots) on a
Prometheus endpoint of the worker's process, when `temporal_metrics_port` is set (0: off).

Clients use the process's default Temporal runtime unless given one, so the worker host sets that
default before it connects, and the worker built on its client reports through it. A port already
in use leaves the SDK without metrics rather than the system without a worker.
"""

import logging

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.settings import Settings

log = logging.getLogger(__name__)


def serve_sdk_metrics(settings: Settings) -> bool:
    """Make this process's Temporal clients and workers export their metrics on the configured
    port; True if they do."""
    if not settings.temporal_metrics_port:
        return False
    address = f"{settings.http_host}:{settings.temporal_metrics_port}"
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    except ValueError as error:
        log.warning("event=temporal_metrics_off address=%s error=%s", address, error)
        return False
    Runtime.set_default(runtime, error_if_already_set=False)
    log.info("event=temporal_metrics_serving address=%s", address)
    return True

"""The worker host's Temporal runtime: SDK metrics on the configured port, nothing when the port
is 0 (the default, so workers sharing a machine never clash), and a taken port costs the metrics,
never the worker."""

import socket
from collections.abc import Iterator

import httpx
import pytest
from temporalio.runtime import Runtime

from core.settings import Settings
from tests.conftest import free_port
from workflows.sdk_metrics import serve_sdk_metrics


@pytest.fixture(autouse=True)
def default_runtime() -> Iterator[Runtime]:
    """The process's default runtime before the test, restored after it."""
    previous = Runtime.default()
    yield previous
    Runtime.set_default(previous, error_if_already_set=False)


def test_metrics_are_off_by_default(default_runtime: Runtime) -> None:
    settings = Settings()
    assert settings.temporal_metrics_port == 0
    assert not serve_sdk_metrics(settings)
    assert Runtime.default() is default_runtime


def test_a_port_makes_the_default_runtime_serve_prometheus_metrics(
    default_runtime: Runtime,
) -> None:
    settings = Settings(temporal_metrics_port=free_port())
    assert serve_sdk_metrics(settings)
    assert Runtime.default() is not default_runtime
    url = f"http://{settings.http_host}:{settings.temporal_metrics_port}/metrics"
    assert httpx.get(url, timeout=5).status_code == 200


def test_a_taken_port_keeps_the_default_runtime(default_runtime: Runtime) -> None:
    with socket.create_server((Settings().http_host, 0)) as taken:
        settings = Settings(temporal_metrics_port=taken.getsockname()[1])
        assert not serve_sdk_metrics(settings)
    assert Runtime.default() is default_runtime

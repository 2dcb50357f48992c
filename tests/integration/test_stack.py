"""The local stack launcher against real processes: it names missing machine servers, starts
and stops its own children, and leaves servers it merely reused running."""

import asyncio
import os
from pathlib import Path

import pytest

from core.settings import Settings
from serve.stack import LocalStack, MissingDependencies
from storage.health import probe
from tests.conftest import free_port


def stack_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "kafka_bootstrap": f"127.0.0.1:{free_port()}",
            "temporal_address": f"127.0.0.1:{free_port()}",
            "s3_endpoint_url": f"http://127.0.0.1:{free_port()}",
            "data_dir": tmp_path,
        }
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_missing_machine_server_is_named_with_its_start_command(settings: Settings) -> None:
    closed = settings.model_copy(
        update={"database_url": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x"}
    )
    with pytest.raises(MissingDependencies) as error:
        LocalStack(closed, ephemeral=True).start()
    assert "postgres" in str(error.value)
    assert "pg_ctlcluster" in str(error.value)
    assert "redis" not in str(error.value)


def test_stack_starts_its_servers_and_stops_them_all(settings: Settings, tmp_path: Path) -> None:
    own = stack_settings(settings, tmp_path)
    stack = LocalStack(own, ephemeral=True, headless=True)
    stack.start()
    pids = [process.process.pid for process in stack.started.values()]
    try:
        assert set(stack.started) == {"kafka", "temporal", "s3", "celery"}
        assert asyncio.run(probe("kafka", own)) is None
        assert asyncio.run(probe("s3", own)) is None

        reuser = LocalStack(own, ephemeral=True, headless=True)
        reuser.start()
        # Servers that answer are reused; a Celery worker is a worker, and each stack runs one.
        assert set(reuser.started) == {"celery"}
        reuser.stop()
        assert all(alive(pid) for pid in pids)
    finally:
        stack.stop()
    assert not any(alive(pid) for pid in pids)
    assert asyncio.run(probe("kafka", own)) is not None

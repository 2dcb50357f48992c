"""The local stack launcher against real processes: it names missing machine servers, starts
and stops its own children, restarts a child that died, and leaves servers it merely reused
running."""

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from core.settings import Settings
from serve.celery_worker import CeleryWorker
from serve.stack import LocalStack, MissingDependencies
from storage.health import probe
from tests.conftest import free_port
from workflows.celery_app import delete_broker_objects


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


def test_a_server_that_cannot_start_takes_the_others_it_started_down_with_it(
    settings: Settings, tmp_path: Path
) -> None:
    # No interface has this address (TEST-NET-1): Temporal cannot bind it and exits.
    own = stack_settings(settings, tmp_path).model_copy(
        update={"temporal_address": f"192.0.2.1:{free_port()}"}
    )
    stack = LocalStack(own, ephemeral=True, headless=True)
    with pytest.raises(RuntimeError, match="temporal exited during start-up"):
        stack.start()
    assert not stack.started
    assert asyncio.run(probe("kafka", own)) is not None
    assert asyncio.run(probe("s3", own)) is not None


def wait_for(condition, deadline_seconds: float, what: str) -> None:
    deadline = time.monotonic() + deadline_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {deadline_seconds:.0f}s")
        time.sleep(0.2)


def test_a_killed_child_is_restarted_by_the_supervisor_and_reported(
    settings: Settings, tmp_path: Path
) -> None:
    own = stack_settings(settings, tmp_path).model_copy(
        update={"celery_queue_prefix": f"t{uuid.uuid4().hex[:10]}."}
    )
    lines: list[str] = []
    stack = LocalStack(own, ephemeral=True, headless=True, report=lines.append)
    stack.start()
    try:
        for name in ("celery", "kafka"):
            old = stack.started[name].process
            os.killpg(old.pid, signal.SIGKILL)
            wait_for(
                lambda name=name, old=old: (
                    stack.started[name].process not in (None, old) and stack.started[name].running()
                ),
                30,
                f"{name} restarted",
            )
        wait_for(lambda: asyncio.run(probe("kafka", own)) is None, 30, "the broker answers")
        celery = stack.started["celery"]
        assert isinstance(celery, CeleryWorker)
        wait_for(celery.answers_ping, 30, "the restarted celery worker answers a ping")
        assert [line for line in lines if "celery" in line] == [
            "supervisor: celery exited (code -9); restarting in 0.5s"
        ]
        assert any(line.startswith("supervisor: kafka exited (code -9)") for line in lines)
    finally:
        stack.stop()
        delete_broker_objects(own)
    assert not stack.started

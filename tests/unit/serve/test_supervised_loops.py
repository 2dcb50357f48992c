"""Supervised loops (actors/events/supervise.py): a failing session is retried with a capped
backoff and logged once per state change; a session that stalls is cancelled; a loop task that
ends takes its process down; and which errors count as a dependency being down rather than a
bad event."""

import asyncio
import logging
import subprocess
import sys

import asyncpg
import pytest

from actors.events.consumer import dependency_down
from actors.events.supervise import Health, supervise
from actors.handlers import CONSUMERS, Poison
from actors.placement import actor_roles
from core.settings import Settings
from serve.readiness import combined


def fast() -> Settings:
    return Settings(consumer_backoff_initial_seconds=0.01, outbox_retry_max_seconds=0.04)


async def test_a_failing_session_is_retried_and_logged_once_per_state_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    health, calls = Health("test-loop", fast(), None), []

    async def session(health: Health) -> None:
        calls.append(health.backoff)
        if len(calls) <= 4:
            raise ConnectionError("down")
        await health.beat()
        if len(calls) == 5:
            raise ConnectionError("down again")
        # the sixth session returns: a bug, which ends the supervisor

    with caplog.at_level(logging.INFO, logger="actors.events.supervise"):
        await asyncio.wait_for(supervise(session, health), 5)
    events = [r.getMessage().split()[0] for r in caplog.records if r.levelno >= logging.WARNING]
    assert events == [
        "event=loop_failing",
        "event=loop_recovered",
        "event=loop_failing",
        "event=loop_recovered",
        "event=loop_returned",
    ]
    assert caplog.records[0].exc_info is not None  # the first failure has its traceback
    assert calls[:5] == [0.01, 0.02, 0.04, 0.04, 0.04]  # doubling, capped


async def test_a_session_that_stops_going_round_is_cancelled_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    health, closed, calls = Health("test-loop", fast(), None, stall_seconds=0.2), [], []

    async def wait_for_an_answer_that_never_comes() -> None:
        await asyncio.Event().wait()

    async def session(health: Health) -> None:
        calls.append(1)
        if len(calls) == 2:
            return  # a bug, which ends the supervisor (and this test)
        await asyncio.sleep(0.4)  # connecting takes longer than the bound: no round yet, no stall
        await health.beat()
        try:
            await wait_for_an_answer_that_never_comes()
        finally:
            closed.append(1)

    with caplog.at_level(logging.INFO, logger="actors.events.supervise"):
        await asyncio.wait_for(supervise(session, health), 5)
    assert closed == [1]  # the stalled session was cancelled, and it closed what it held
    assert [r.getMessage().split()[0] for r in caplog.records].count("event=loop_failing") == 1
    failing = next(r for r in caplog.records if r.getMessage().startswith("event=loop_failing"))
    assert "Stalled" in failing.getMessage()
    assert "wait_for_an_answer_that_never_comes" in failing.getMessage()


def test_a_loop_that_ends_exits_the_process() -> None:
    program = (
        "import asyncio\n"
        "from actors.events.supervise import Health, Loops\n"
        "from core.settings import Settings\n"
        "async def session(health):\n"
        "    return\n"
        "async def main():\n"
        "    Loops().start(session, Health('x', Settings(), None))\n"
        "    await asyncio.sleep(10)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=60)
    assert done.returncode == 1
    assert b"event=loop_ended" in done.stderr


def test_a_dependency_down_is_told_from_a_bad_event() -> None:
    assert dependency_down(ConnectionRefusedError())
    assert dependency_down(asyncpg.exceptions.AdminShutdownError("terminated"))
    wrapped = RuntimeError("handler")
    wrapped.__cause__ = OSError("no route")
    assert dependency_down(wrapped)
    assert not dependency_down(Poison("the course does not exist"))
    assert not dependency_down(ValueError("bad data"))
    assert not dependency_down(asyncpg.exceptions.QueryCanceledError("statement timeout"))


def test_the_events_actors_of_each_layout() -> None:
    assert actor_roles(Settings()) == {"events": ["relay", *CONSUMERS]}
    split = actor_roles(Settings(events_actor_per_group=True))
    assert split["events-relay"] == ["relay"]
    assert sorted(role for roles in split.values() for role in roles) == sorted(
        ["relay", *CONSUMERS]
    )


async def test_readiness_names_a_failing_loop_until_it_has_worked_a_while() -> None:
    settings = Settings(consumer_backoff_initial_seconds=0.01, loop_settle_seconds=60)
    health = Health("relay-listener", settings, None)
    assert health.trouble() is None
    health.failed(ConnectionError("terminated"))
    assert health.trouble() == "relay-listener failing: ConnectionError('terminated')"
    await health.beat()
    assert health.trouble() == "relay-listener recovering from ConnectionError('terminated')"
    settled = Health("relay", settings.model_copy(update={"loop_settle_seconds": 0}), None)
    settled.failed(ConnectionError("terminated"))
    await settled.beat()
    assert settled.trouble() is None


def test_readiness_combines_the_reasons_of_each_pipeline() -> None:
    flows = {"outbox": None, "consumers": "no heartbeat from relay", "celery": None}
    actors = {"outbox": "events does not answer", "consumers": None, "shards": None}
    assert combined(flows, actors) == {
        "outbox": "events does not answer",
        "consumers": "no heartbeat from relay",
        "celery": None,
        "shards": None,
    }

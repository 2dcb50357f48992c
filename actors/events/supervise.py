"""Supervised loops: every long-running loop of the events actor is a named task that survives
any failure of its dependencies, and a task that ends anyway takes the process down.

A loop is a `session`: it connects to what it needs and goes round until something fails. On
any exception the loop logs one line when it goes from working to failing (with the
traceback) and one when it recovers, backs off (capped, doubling) and starts a new session,
which reconnects. Silence in between is deliberate: a broker down for an hour is two lines,
not thousands. Each working round beats the loop's heartbeat (storage/heartbeats.py), so a
loop that hangs or is gone shows in readiness without asking it; one that fails is named by its
actor's answer to readiness (`Health.trouble`), from the failure until it has worked again for
`loop_settle_seconds`, so a failure over within a second is seen too.

A loop that goes round often (the relay, each consumer group) has a stall bound: a session that
has gone round and then neither beats nor fails for `loop_stall_seconds` waits on something
that will not answer (an aiokafka call about a partition the restarted broker no longer has
waited for it without end), so it is cancelled and counts as a failure that names the frames
it waited in.

A loop task that returns or raises out of its supervisor (a bug, not an outage) calls
`os._exit(1)` from its done-callback, after logging: Ray then restarts the actor (its
max_restarts is -1) instead of keeping a process whose loop silently stopped."""

import asyncio
import logging
import os
import time
from collections.abc import Callable, Coroutine

from core.settings import Settings
from storage.heartbeats import Heartbeats

log = logging.getLogger(__name__)


class Health:
    """The state of one loop: working or failing, its current backoff, and its heartbeat."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        heartbeats: Heartbeats | None,
        stall_seconds: float | None = None,
    ) -> None:
        """`stall_seconds`: for a loop whose rounds are short, how long a session may go without
        one before it is cancelled (None: a loop that sleeps long between rounds)."""
        self.name, self.heartbeats, self.stall = name, heartbeats, stall_seconds
        self.last_round = float("-inf")
        self.initial = settings.consumer_backoff_initial_seconds
        self.cap = settings.outbox_retry_max_seconds
        self.backoff = self.initial
        self.settle = settings.loop_settle_seconds
        self.failing = False
        self.failures = 0
        self.error: BaseException | None = None
        self.recovered_at: float | None = None

    async def beat(self) -> None:
        """One working round: recovered if it was failing, and alive for readiness."""
        self.last_round = time.monotonic()
        if self.failing:
            log.warning("event=loop_recovered loop=%s after_failures=%d", self.name, self.failures)
            self.failing, self.failures, self.backoff = False, 0, self.initial
            self.recovered_at = time.monotonic()
        if self.heartbeats is not None:
            await self.heartbeats.beat(self.name)

    def failed(self, error: BaseException) -> float:
        """Record a failure; answer how long to wait before the next session."""
        self.failures += 1
        self.error = error
        if not self.failing:
            self.failing = True
            log.error(
                "event=loop_failing loop=%s error=%r retry_in=%.2f",
                self.name,
                error,
                self.backoff,
                exc_info=error,
            )
        else:
            log.debug("event=loop_still_failing loop=%s error=%r", self.name, error)
        delay = self.backoff
        self.backoff = min(self.backoff * 2, self.cap)
        return delay

    def trouble(self) -> str | None:
        """Why readiness should not count on the loop now, or None: it is failing, or it
        recovered less than `loop_settle_seconds` ago (as a probe's success threshold)."""
        if self.failing:
            return f"{self.name} failing: {self.error!r}"[:200]
        if self.recovered_at is not None and time.monotonic() - self.recovered_at < self.settle:
            return f"{self.name} recovering from {self.error!r}"[:200]
        return None


Session = Callable[[Health], Coroutine[object, object, None]]


class Stalled(Exception):
    """A session went `loop_stall_seconds` without a round and without failing."""


def awaiting(task: asyncio.Task) -> str:
    """The coroutines `task` is suspended in, outermost first (the innermost few)."""
    frames, step = [], task.get_coro()
    while step is not None:
        frame = getattr(step, "cr_frame", None) or getattr(step, "gi_frame", None)
        if frame is not None:
            frames.append(f"{frame.f_code.co_qualname}:{frame.f_lineno}")
        step = getattr(step, "cr_await", None) or getattr(step, "gi_yieldfrom", None)
    return " > ".join(frames[-5:])


async def guarded(session: Session, health: Health) -> None:
    """One session; with a stall bound, cancelled (raising `Stalled`) once it has gone that
    long without a round. The bound starts at the session's first round: its start (connecting,
    joining the group, the relay's replay of a large outbox in one statement) has none."""
    if health.stall is None:
        return await session(health)
    started = time.monotonic()
    task = asyncio.get_running_loop().create_task(session(health))
    try:
        while not task.done():
            going = health.last_round >= started
            idle = time.monotonic() - health.last_round
            if going and idle >= health.stall:
                raise Stalled(f"no round in {idle:.1f} s, waiting in {awaiting(task)}")
            await asyncio.wait({task}, timeout=health.stall - idle if going else health.stall)
        return task.result()
    finally:
        if not task.done():  # stalled, or the loop itself cancelled: the session closes its clients
            task.cancel()
            await asyncio.wait({task})


async def supervise(session: Session, health: Health) -> None:
    """Run `session` again after every failure; return only if a session returns (a bug)."""
    while True:
        try:
            await guarded(session, health)
        except Exception as error:  # any dependency failure: back off, reconnect, go on
            await asyncio.sleep(health.failed(error))
            continue
        log.error("event=loop_returned loop=%s", health.name)
        return


class Loops:
    """The supervised tasks of one process, kept referenced; one that ends kills the process."""

    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task] = {}
        self.health: dict[str, Health] = {}
        self.stopping = False

    def start(self, session: Session, health: Health) -> None:
        task = asyncio.get_event_loop().create_task(supervise(session, health), name=health.name)
        task.add_done_callback(self.ended)
        self.tasks[health.name] = task
        self.health[health.name] = health

    def ended(self, task: asyncio.Task) -> None:
        if self.stopping:
            return
        error = None if task.cancelled() else task.exception()
        log.critical(
            "event=loop_ended loop=%s cancelled=%s error=%r; exiting so Ray restarts the actor",
            task.get_name(),
            task.cancelled(),
            error,
            exc_info=error,
        )
        logging.shutdown()
        os._exit(1)

    async def stop(self) -> None:
        """Cancel every loop on purpose (tests, shutdown): no exit for these."""
        self.stopping = True
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)

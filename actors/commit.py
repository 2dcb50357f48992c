"""Group commit: every progress change that arrives while a commit is in flight goes into the
next one, one PostgreSQL statement with its outbox events; callers are answered only after
their transaction committed (and `on_committed` ran), never before."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from ray.util.metrics import Histogram

from core.errors import DependencyDown
from core.events import EventEnvelope
from core.progress import ProgressChange
from storage.db import Database
from storage.repositories.progress import write_progress
from storage.telemetry import current_carrier, tracer

log = logging.getLogger(__name__)
TAGS = ("shard",)
COMMIT_SIZE = Histogram(
    "smartcourse_group_commit_size",
    "Changes per group commit",
    boundaries=[1, 2, 5, 10, 20, 50, 100, 200, 500],
    tag_keys=TAGS,
)
COMMIT_SECONDS = Histogram(
    "smartcourse_group_commit_seconds",
    "Group commit duration",
    boundaries=[0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    tag_keys=TAGS,
)


@dataclass
class Pending:
    change: ProgressChange
    events: list[EventEnvelope]
    done: asyncio.Future
    # The submitter's trace: the commit it waited on shows in it as a span.
    trace: otel_context.Context = field(default_factory=otel_context.get_current)


Committed = Callable[[Sequence[ProgressChange]], Awaitable[None]]


class GroupCommitter:
    def __init__(self, db: Database, on_committed: Committed, tags: dict[str, str]) -> None:
        self.db, self.on_committed, self.tags = db, on_committed, tags
        self.queue: list[Pending] = []
        self.flushing: asyncio.Task | None = None

    @property
    def depth(self) -> int:
        return len(self.queue)

    async def submit(self, change: ProgressChange, events: list[EventEnvelope]) -> None:
        done = asyncio.get_running_loop().create_future()
        self.queue.append(Pending(change, events, done))
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.create_task(self.drain())
        await done

    async def drain(self) -> None:
        while self.queue:
            batch, self.queue = self.queue, []
            started, started_ns = time.perf_counter(), time.time_ns()
            try:
                await self.write(batch)
            except Exception as error:  # no change of a failed batch is acknowledged
                log.warning("event=group_commit_failed size=%d error=%s", len(batch), error)
                for item in batch:
                    item.done.set_exception(DependencyDown("Progress could not be saved; retry"))
                continue
            COMMIT_SIZE.observe(len(batch), tags=self.tags)
            COMMIT_SECONDS.observe(time.perf_counter() - started, tags=self.tags)
            trace_commit(batch, started_ns)
            for item in batch:
                item.done.set_result(None)

    async def write(self, batch: list[Pending]) -> None:
        changes = [item.change for item in batch]
        events = []
        for item in batch:  # each change's events carry its own caller's trace
            token = otel_context.attach(item.trace)
            try:
                events += [(event, current_carrier()) for event in item.events]
            finally:
                otel_context.detach(token)
        async with self.db.autocommit() as connection:
            await write_progress(connection, changes, events)
        await self.on_committed(changes)


def trace_commit(batch: list[Pending], started_ns: int) -> None:
    """One span per waiting caller for the transaction they shared, so each caller's trace
    shows the commit that made its change durable (and how many others rode in it)."""
    ended_ns = time.time_ns()
    for item in batch:
        span = tracer.start_span(
            "postgres group commit",
            context=item.trace,
            start_time=started_ns,
            attributes={"db.system": "postgresql", "smartcourse.batch_size": len(batch)},
        )
        span.end(end_time=ended_ns)

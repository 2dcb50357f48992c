"""The events actor: the outbox relay (with its NOTIFY listener and the retention sweep) and
every consumer group, each a supervised loop (actors/events/supervise.py) on one event loop in
one process. Locally one actor, `events`, runs them all: the relay and the consumers are
mostly waiting on the network, and one process costs a fraction of five.

With `events_actor_per_group` (a cluster) the relay gets the actor `events-relay` and each
group `events-<group>`, so a busy group has a process (and a node) of its own."""

import os

import ray

from actors.events.archiving import Archiving
from actors.events.consumer import GroupConsumer
from actors.events.relay import Relay
from actors.events.retention import Retention
from actors.events.supervise import Health, Loops
from actors.placement import RELAY
from actors.priority import run_in_background
from core.logs import configure_logging
from core.settings import Settings
from storage.db import Database
from storage.heartbeats import Heartbeats
from storage.keyvalue import connect_redis
from storage.telemetry import configure_tracing, make_samples_dir


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class EventsActor:
    def __init__(self, settings: Settings, roles: list[str]) -> None:
        run_in_background(settings.background_niceness)
        configure_logging(settings.log_level)
        configure_tracing(settings, "smartcourse-events")
        make_samples_dir()
        self.roles = roles
        groups = [role for role in roles if role != RELAY]
        # An engine (pool) per loop owner, so a connection a failure left broken in one pool
        # is never handed to another loop. Partitions of a group are handled concurrently;
        # a few connections each suffice.
        relay_db = settings.model_copy(update={"db_pool_size": 3})
        group_db = settings.model_copy(update={"db_pool_size": 4})
        heartbeats = Heartbeats(connect_redis(settings), settings)
        self.loops = Loops()
        stall = settings.loop_stall_seconds  # for the loops that go round often
        self.relay: Relay | None = None
        self.retention: Retention | None = None
        # No ping per checkout: a loop whose connection broke (PostgreSQL restarted) ends its
        # session and retries, and the pool it failed in replaces its connections.
        self.consumers = {
            group: GroupConsumer(settings, group, Database(group_db, pre_ping=False))
            for group in groups
        }
        if RELAY in roles:
            db = Database(relay_db, pre_ping=False)
            archiving = Archiving(settings) if settings.event_archive_enabled else None
            self.relay = Relay(
                settings, db, self.log_lost, archiving.keep if archiving else lambda rows: None
            )
            if archiving is not None:
                self.loops.start(archiving.run, Health("archive", settings, None))
            self.retention = Retention(settings, db)
            self.loops.start(self.relay.run, Health("relay", settings, heartbeats, stall))
            self.loops.start(self.relay.listen, Health("relay-listener", settings, None))
            self.loops.start(self.retention.run, Health("retention", settings, None))
        for group, consumer in self.consumers.items():
            health = Health(f"consumer:{group}", settings, heartbeats, stall)
            self.loops.start(consumer.run, health)

    def log_lost(self) -> None:
        """The broker lost its log: every group here reads the new one from its start (with
        one actor per group, each finds it by its partitions ending before its position)."""
        for consumer in self.consumers.values():
            consumer.log_lost()

    async def stats(self) -> dict:
        """What it has done since it started (per process: a restart starts from zero)."""
        return {
            "pid": os.getpid(),
            "published": self.relay.published if self.relay else 0,
            "replayed": self.relay.replayed if self.relay else 0,
            "handled": {group: c.handled for group, c in self.consumers.items()},
            "deleted": dict(self.retention.deleted) if self.retention else {},
            "loops": {name: not task.done() for name, task in self.loops.tasks.items()},
        }

    async def health(self) -> dict[str, str | None]:
        """Each loop's trouble for readiness (None: working), see `Health.trouble`."""
        return {name: health.trouble() for name, health in self.loops.health.items()}

    async def pid(self) -> int:
        return os.getpid()

    async def sweep(self) -> dict[str, int]:
        """Run the retention sweep now (operators, tests); the loop keeps its own schedule."""
        if self.retention is None:
            return {}
        return await self.retention.sweep()

"""The actor that hosts the Temporal worker, so the system runs its workflows in one place and
Ray restarts the worker when its process dies (Temporal then redelivers the unfinished tasks).

Two loops run here and neither may die quietly: the worker (connect, build, run, beat
`temporal_worker` while it runs) and the reminder schedule (made sure of at start and again
every few minutes, so a Temporal that lost its state gets it back). Each logs a state change
once with its traceback, backs off and goes on; if a loop ever ends, the process exits and Ray
starts the actor again, so nothing stays half alive.
"""

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

import ray

from actors.shards import reload_course
from core.logs import configure_logging
from core.settings import Settings
from storage.content_store import open_content_store
from storage.course_cache import CourseCache
from storage.db import Database
from storage.heartbeats import Heartbeats
from storage.keyvalue import connect_redis
from storage.repositories.course import CourseRepository
from storage.telemetry import configure_tracing, make_samples_dir
from storage.temporal import connect, ensure_reminder_schedule
from workflows.certificates.activities import CertificateActivities
from workflows.courses.activities import CourseActivities
from workflows.enrollment.activities import EnrollmentActivities
from workflows.reminders.activities import ReminderActivities
from workflows.sdk_metrics import serve_sdk_metrics
from workflows.worker import build_worker

log = logging.getLogger(__name__)
HEARTBEAT = "temporal_worker"
SCHEDULE_CHECK_SECONDS = 300.0


class Retrying:
    """Backoff and state-change logging of one loop: a failure is logged once with its
    traceback, repeats only count, and the recovery is logged once."""

    def __init__(self, name: str, settings: Settings) -> None:
        self.name, self.failures = name, 0
        self.initial = settings.supervisor_backoff_initial_seconds
        self.maximum = settings.worker_retry_max_seconds

    def recovered(self) -> None:
        if self.failures:
            log.info("event=%s_recovered after_failures=%d", self.name, self.failures)
        self.failures = 0

    async def failed(self, error: Exception) -> None:
        if not self.failures:
            log.warning("event=%s_failing error=%r", self.name, error, exc_info=error)
        self.failures += 1
        await asyncio.sleep(min(self.maximum, self.initial * 2 ** (self.failures - 1)))


@ray.remote(max_restarts=-1, num_cpus=0)
class WorkflowWorkerHost:
    def __init__(self, settings: Settings) -> None:
        configure_logging(settings.log_level)
        configure_tracing(settings, "smartcourse-workflows")
        make_samples_dir()
        # Before the first client: the SDK's workflow metrics come from this process only.
        serve_sdk_metrics(settings)
        self.settings = settings
        self.db = Database(settings)
        self.redis = connect_redis(settings)
        self.heartbeats = Heartbeats(self.redis, settings)
        self.cache = CourseCache(
            self.redis, settings.course_cache_ttl_seconds, settings.catalog_cache_ttl_seconds
        )
        self.stopping = False
        loop = asyncio.get_event_loop()
        self.running = loop.create_task(self.supervised("temporal_worker", self.serve))
        self.schedule = loop.create_task(self.supervised("reminder_schedule", self.keep_schedule))

    async def course_changed(self, course_id: int) -> None:
        async with self.db.unit_of_work() as uow:
            course = await CourseRepository(uow.session).get(course_id)
        await self.cache.invalidate(course_id, [] if course is None else [course.category])
        await reload_course(self.settings, course_id)

    def activities(self) -> list:
        content = open_content_store(self.settings, self.db)
        return [
            *CourseActivities(self.db, content, self.course_changed).all(),
            *EnrollmentActivities(self.db, self.redis).all(),
            *CertificateActivities(self.settings, self.db).all(),
            ReminderActivities(self.settings, self.db).remind_inactive_students,
        ]

    async def supervised(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run `loop` until the actor stops; its end at any other time ends the process."""
        try:
            await loop()
        except BaseException as error:
            if self.stopping:
                return
            log.critical("event=%s_loop_died error=%r", name, error, exc_info=error)
        else:
            if self.stopping:
                return
            log.critical("event=%s_loop_ended", name)
        # Ray restarts the actor (max_restarts=-1); a live actor with a dead loop would not be.
        os._exit(1)

    async def serve(self) -> None:
        activities, retrying = self.activities(), Retrying("temporal_worker", self.settings)
        while not self.stopping:
            try:
                self.worker = build_worker(await connect(self.settings), self.settings, activities)
                queue = self.settings.temporal_task_queue
                log.info("event=temporal_worker_started queue=%s", queue)
                beating = asyncio.get_running_loop().create_task(self.beat())
                try:
                    retrying.recovered()
                    await self.worker.run()
                finally:
                    beating.cancel()
                if not self.stopping:
                    raise RuntimeError("the Temporal worker stopped on its own")
            except Exception as error:
                await retrying.failed(error)

    async def beat(self) -> None:
        """`temporal_worker` stays alive in Redis while the worker runs (readiness reads it)."""
        while True:
            await self.heartbeats.beat(HEARTBEAT)
            await asyncio.sleep(self.settings.heartbeat_ttl_seconds / 3)

    async def keep_schedule(self) -> None:
        retrying, client = Retrying("reminder_schedule", self.settings), None
        while not self.stopping:
            try:
                client = client or await connect(self.settings)
                await ensure_reminder_schedule(client, self.settings)
                retrying.recovered()
                await asyncio.sleep(SCHEDULE_CHECK_SECONDS)
            except Exception as error:
                client = None
                await retrying.failed(error)

    async def ready(self) -> bool:
        return hasattr(self, "worker") and not self.running.done()

    async def stop(self) -> None:
        self.stopping = True
        self.schedule.cancel()
        if hasattr(self, "worker"):
            await self.worker.shutdown()

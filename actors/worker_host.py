"""The actor that hosts the Temporal worker, so the system runs its workflows in one place and
Ray restarts the worker when its process dies (Temporal then redelivers the unfinished tasks)."""

import asyncio
import logging

import ray

from actors.shards import reload_course
from core.logs import configure_logging
from core.settings import Settings
from storage.content_store import open_content_store
from storage.course_cache import CourseCache
from storage.db import Database
from storage.keyvalue import connect_redis
from storage.repositories.course import CourseRepository
from storage.telemetry import configure_tracing
from workflows.certificate_activities import CertificateActivities
from workflows.client import connect
from workflows.course_activities import CourseActivities
from workflows.enrollment_activities import EnrollmentActivities
from workflows.reminders import ReminderActivities, ensure_schedule
from workflows.sdk_metrics import serve_sdk_metrics
from workflows.worker import build_worker

log = logging.getLogger(__name__)
WORKER_HOST = "temporal-worker"


def certificate_activities(activities: CertificateActivities) -> list:
    return [activities.issue, activities.render_pdf, activities.announce, activities.send_email]


@ray.remote(max_restarts=-1, num_cpus=0)
class WorkflowWorkerHost:
    def __init__(self, settings: Settings) -> None:
        configure_logging(settings.log_level)
        configure_tracing(settings, "smartcourse-workflows")
        # Before the first client: the SDK's workflow metrics come from this process only.
        serve_sdk_metrics(settings)
        self.settings = settings
        self.db = Database(settings)
        self.cache = CourseCache(
            connect_redis(settings),
            settings.course_cache_ttl_seconds,
            settings.catalog_cache_ttl_seconds,
        )
        self.running = asyncio.get_event_loop().create_task(self.run())

    async def course_changed(self, course_id: int) -> None:
        async with self.db.unit_of_work() as uow:
            course = await CourseRepository(uow.session).get(course_id)
        await self.cache.invalidate(course_id, [] if course is None else [course.category])
        await reload_course(self.settings, course_id)

    async def run(self) -> None:
        content = open_content_store(self.settings, self.db)
        activities = [
            *CourseActivities(self.db, content, self.course_changed).all(),
            *EnrollmentActivities(self.db, connect_redis(self.settings)).all(),
            *certificate_activities(CertificateActivities(self.settings, self.db)),
            ReminderActivities(self.settings, self.db).remind_inactive_students,
        ]
        while True:
            try:
                client = await connect(self.settings)
                await ensure_schedule(client, self.settings)
                self.worker = build_worker(client, self.settings, activities)
                log.info(
                    "event=temporal_worker_started queue=%s", self.settings.temporal_task_queue
                )
                await self.worker.run()
                return
            except (RuntimeError, OSError) as error:
                log.warning("event=temporal_worker_retry error=%s", error)
                await asyncio.sleep(1)

    async def ready(self) -> bool:
        return hasattr(self, "worker") and not self.running.done()

    async def stop(self) -> None:
        if hasattr(self, "worker"):
            await self.worker.shutdown()

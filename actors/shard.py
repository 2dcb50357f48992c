"""The shard actor, a host only: dispatch to the course and enrollment entities placed on it,
group commit and Redis snapshots; activation from PostgreSQL (single-flight) and passivation
are actors/activation.py's. The rules are the entities' (actors/entities/); seat changes are
stored by actors/seating.py.
A shard restarted by Ray (`max_restarts=-1`) starts empty and reloads entities on demand;
every operation is idempotent or re-checked against PostgreSQL, since Ray may run a call
twice (`max_task_retries`). A decision that refuses (not enrolled, pending, full) is re-checked
against PostgreSQL before it is answered, so state changed by another shard is never missed.
"""

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import ray
from ray.util.metrics import Gauge

from actors.activation import Entities
from actors.commit import GroupCommitter
from actors.entities.enrollment import (
    StudentEntity,
    apply,
    completion,
    enrollment_view,
    progress_view,
    quiz_attempt,
)
from actors.ops import (
    Admit,
    Complete,
    Drop,
    FillSeats,
    Op,
    ReadProgress,
    ReloadCourse,
    SubmitQuiz,
)
from actors.seating import Seating
from core.enrollments import EnrollmentState
from core.errors import Conflict, DependencyDown, DomainError, NotFound
from core.events import EventEnvelope
from core.logs import configure_logging
from core.progress import ProgressChange
from core.quizzes import score_quiz
from core.settings import Settings
from core.status import EnrollmentStatus
from storage.course_cache import CourseCache
from storage.db import Database
from storage.keyvalue import connect_redis
from storage.progress_cache import ProgressCache
from storage.telemetry import configure_tracing, context_from, make_samples_dir, tracer

log = logging.getLogger(__name__)
TAGS = ("shard",)
MAILBOX = Gauge("smartcourse_shard_mailbox_depth", "Progress changes waiting to commit", TAGS)


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class Shard:
    def __init__(self, settings: Settings, index: int) -> None:
        configure_logging(settings.log_level)
        configure_tracing(settings, "smartcourse-shard")
        make_samples_dir()
        self.settings, self.tags = settings, {"shard": str(index)}
        self.started = time.monotonic()  # readiness names a shard that has just (re)started
        self.db = Database(
            settings.model_copy(update={"db_pool_size": settings.shard_db_pool_size})
        )
        redis = connect_redis(settings)
        self.cache = ProgressCache(redis, settings.progress_cache_ttl_seconds)
        course_cache = CourseCache(
            redis, settings.course_cache_ttl_seconds, settings.catalog_cache_ttl_seconds
        )
        self.seating = Seating(self.db, course_cache)
        self.entities = Entities(self.db, self.tags)
        self.committer = GroupCommitter(self.db, self.committed, self.tags)
        self.passivating = asyncio.get_event_loop().create_task(self.passivate_forever())

    async def call(
        self, ops: Sequence[Op], traces: Sequence[dict[str, str]] | None = None
    ) -> list[Any]:
        """A micro-batch of operations, each with its caller's trace context; each result is a
        value or the DomainError it raised."""
        carriers = traces or [{}] * len(ops)
        results = await asyncio.gather(
            *(self.traced(op, carrier) for op, carrier in zip(ops, carriers, strict=True)),
            return_exceptions=True,
        )
        return [self.answer(result) for result in results]

    async def traced(self, op: Op, carrier: dict[str, str]) -> Any:
        with tracer.start_as_current_span(
            f"shard {type(op).__name__}",
            context=context_from(carrier),
            attributes={"smartcourse.shard": self.tags["shard"]},
        ):
            return await self.handle(op)

    def answer(self, result: Any) -> Any:
        if isinstance(result, BaseException) and not isinstance(result, DomainError):
            log.exception("event=shard_op_failed", exc_info=result)
            return DependencyDown("The progress service failed; retry")
        return result

    async def handle(self, op: Op) -> Any:
        handlers = {
            Complete: self.complete,
            SubmitQuiz: self.submit_quiz,
            ReadProgress: self.read_progress,
            Admit: self.admit,
            FillSeats: self.fill_seats,
            Drop: self.drop,
            ReloadCourse: self.reload_course,
        }
        handler = handlers.get(type(op))
        if handler is None:
            raise NotFound(f"unknown operation {type(op).__name__}")
        return await handler(op)

    async def reload_course(self, op: ReloadCourse) -> None:
        """Forget the course (its structure may have been revised) and the enrollments in it,
        and answer once every change computed over the old structure is durable: the caller then
        recomputes percentages and completions in PostgreSQL, and no late commit of an old
        percentage can overwrite them (the caller reloads again after, for the statuses)."""
        self.entities.forget_course(op.course_id)
        loading = self.entities.loads.inflight.get(("course", op.course_id))
        if loading is not None:  # a read that began before the revision committed
            await asyncio.wait([loading])
            self.entities.forget_course(op.course_id)
        await self.committer.settled()
        for student in self.entities.students.values():  # statuses the revision may change
            student.forget_enrollment(op.course_id)

    # Progress -------------------------------------------------------------------------------

    async def complete(self, op: Complete) -> dict[str, Any]:
        student, enrollment, structure = await self.entities.lesson_enrollment(
            op.student_id, op.lesson_id
        )
        key = (enrollment.id, op.lesson_id)
        if op.lesson_id in enrollment.completed:
            return progress_view(enrollment, structure)
        if (in_flight := student.commit_of(key)) is not None:
            # The same lesson is already on its way to the database: answer with that commit.
            await asyncio.shield(in_flight)
            return progress_view(enrollment, structure)
        before = student.done_or_pending(enrollment)
        change, events = completion(enrollment, structure, before, op.lesson_id)
        await self.commit(student, key, change, events)
        return progress_view(enrollment, structure)

    async def submit_quiz(self, op: SubmitQuiz) -> dict[str, Any]:
        student, enrollment, structure = await self.entities.lesson_enrollment(
            op.student_id, op.lesson_id
        )
        quiz = structure.quizzes.get(op.lesson_id)
        if quiz is None:
            raise NotFound("Quiz not found")
        result = score_quiz(quiz, list(op.answers))
        limit = self.settings.quiz_max_attempts
        number = student.attempt_number(enrollment, op.lesson_id, limit)
        key = (enrollment.id, op.lesson_id)
        student.begin_attempt(key, number)
        before = student.done_or_pending(enrollment)
        attempt = (op.lesson_id, number, op.answers)
        change, events = quiz_attempt(enrollment, structure, before, attempt, result)
        try:
            if change.lesson_id is not None:
                await self.commit(student, key, change, events)
            else:
                await self.committer.submit(change, events)
        finally:
            student.end_attempt(key, number)
        return {
            "score": result.score,
            "passed": result.passed,
            "attempt": number,
            "attempts_left": max(0, limit - number),
            "progress": progress_view(enrollment, structure),
        }

    async def commit(
        self,
        student: StudentEntity,
        key: tuple[int, int],
        change: ProgressChange,
        events: list[EventEnvelope],
    ) -> None:
        """Group-commit the completion of lesson `key[1]` of enrollment `key[0]`; concurrent
        completions of it wait on this one."""
        done = asyncio.get_running_loop().create_future()
        student.begin_commit(key, done)
        try:
            await self.committer.submit(change, events)
            done.set_result(None)
        except BaseException as error:
            done.set_exception(error)
            done.exception()  # retrieved here, so an unawaited failure is not logged as lost
            raise
        finally:
            student.end_commit(key)

    async def committed(self, changes: Sequence[ProgressChange]) -> None:
        """After a commit: apply the changes to the entities, then refresh their snapshots."""
        touched: dict[int, EnrollmentState] = {}
        for change in changes:
            enrollment = self.entities.enrollment_by_id(change.enrollment_id, change.student_id)
            if enrollment is not None:
                apply(enrollment, change)
                touched[enrollment.id] = enrollment
        snapshots = {}
        for enrollment in touched.values():
            structure = self.entities.structures.get(enrollment.course_id)
            if structure is not None:
                snapshots[enrollment.id] = progress_view(enrollment, structure.structure) | {
                    "student_id": enrollment.student_id
                }
        await self.cache.put_many(snapshots)

    async def read_progress(self, op: ReadProgress) -> dict[str, Any]:
        student = await self.entities.student(op.student_id)
        enrollment = await self.entities.owned_enrollment(student, op.enrollment_id)
        structure = (await self.entities.course_state(enrollment.course_id)).structure
        return enrollment_view(enrollment) | {"progress": progress_view(enrollment, structure)}

    # Seats: admission and the waitlist (course shard), drop (student shard) ---------------

    async def admit(self, op: Admit) -> dict[str, Any]:
        course = await self.entities.course(op.course_id)
        async with course.lock:
            return await self.seating.admit(course, op.student_id)

    async def fill_seats(self, op: FillSeats) -> list[dict[str, Any]]:
        course = await self.entities.course(op.course_id)
        async with course.lock:
            return await self.seating.fill(course)

    async def drop(self, op: Drop) -> dict[str, Any]:
        """The enrollment dropped; `freed_seat` tells the caller to fill the course's seats."""
        student = await self.entities.student(op.student_id)
        enrollment = await self.entities.owned_enrollment(student, op.enrollment_id)
        if enrollment.status == EnrollmentStatus.DROPPED:
            return enrollment_view(enrollment) | {"freed_seat": False}
        if enrollment.status == EnrollmentStatus.COMPLETED:
            raise Conflict("A completed enrollment cannot be dropped")
        if student.pending_lessons(enrollment.id):
            raise Conflict("Progress is being saved; retry in a moment")
        freed = await self.seating.release(enrollment)
        enrollment.status = EnrollmentStatus.DROPPED
        return enrollment_view(enrollment) | {"freed_seat": freed}

    # Passivation ----------------------------------------------------------------------------

    async def passivate_forever(self) -> None:
        idle = self.settings.entity_idle_seconds
        while True:
            await asyncio.sleep(max(1.0, min(idle / 4, 60.0)))
            self.passivate(time.monotonic() - idle)

    def passivate(self, cutoff: float) -> None:
        self.entities.passivate(cutoff)
        MAILBOX.set(self.committer.depth, tags=self.tags)

    async def stats(self) -> dict[str, Any]:
        return {
            "node_id": ray.get_runtime_context().get_node_id(),
            "students": len(self.entities.students),
            "courses": len(self.entities.courses),
            "mailbox": self.committer.depth,
            "up_seconds": time.monotonic() - self.started,
        }

"""The shard actor, a host only: dispatch to the course and enrollment entities placed on it,
activation from PostgreSQL (single-flight), passivation, group commit and Redis snapshots. The
rules are the entities' (actors/entities/); seat changes are stored by actors/seating.py.
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
from ray.util.metrics import Counter, Gauge

from actors.commit import GroupCommitter
from actors.entities.course import CourseEntity
from actors.entities.enrollment import (
    StudentEntity,
    apply,
    awaits_outside_change,
    completion,
    enrollment_view,
    progress_view,
    quiz_attempt,
)
from actors.loading import SingleFlight
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
from core.enrollments import CourseState, EnrollmentState
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
from storage.repositories.enrollment import EnrollmentRepository
from storage.telemetry import configure_tracing, context_from, tracer

log = logging.getLogger(__name__)
# Enrollments that take lesson completions; any other is re-read before it is refused.
PROGRESSING = (EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED)
TAGS = ("shard",)
MAILBOX = Gauge("smartcourse_shard_mailbox_depth", "Progress changes waiting to commit", TAGS)
ACTIVE = Gauge("smartcourse_active_entities", "Entities held in memory", ("shard", "kind"))
ACTIVATIONS = Counter("smartcourse_entity_activations", "Entities loaded", ("shard", "kind"))
PASSIVATIONS = Counter(
    "smartcourse_entity_passivations", "Idle entities dropped", ("shard", "kind")
)


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class Shard:
    def __init__(self, settings: Settings, index: int) -> None:
        configure_logging(settings.log_level)
        configure_tracing(settings, "smartcourse-shard")
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
        self.courses: dict[int, CourseEntity] = {}
        self.structures: dict[int, CourseState] = {}
        self.students: dict[int, StudentEntity] = {}
        self.lesson_course: dict[int, int] = {}
        self.loads = SingleFlight()
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
        """Forget the course (its structure may have been revised) and answer once every change
        computed over the old structure is durable: the caller then recomputes percentages in
        PostgreSQL, and no late commit of an old percentage can overwrite them."""
        self.forget_course(op.course_id)
        loading = self.loads.inflight.get(("course", op.course_id))
        if loading is not None:  # a read that began before the revision committed
            await asyncio.wait([loading])
            self.forget_course(op.course_id)
        await self.committer.settled()

    def forget_course(self, course_id: int) -> None:
        self.courses.pop(course_id, None)
        self.structures.pop(course_id, None)
        for lesson_id in [k for k, v in self.lesson_course.items() if v == course_id]:
            del self.lesson_course[lesson_id]

    # Activation -----------------------------------------------------------------------------

    async def course_state(self, course_id: int) -> CourseState:
        state = self.structures.get(course_id)
        if state is None:
            state = await self.loads.load(
                ("course", course_id), lambda: self.load_course(course_id)
            )
        return state

    async def load_course(self, course_id: int) -> CourseState:
        async with self.db.unit_of_work() as uow:
            state = await EnrollmentRepository(uow.session).course_state(course_id)
        if state is None:
            raise NotFound("Course not found")
        self.structures[course_id] = state
        for lessons in state.structure.modules.values():
            self.lesson_course.update(dict.fromkeys(lessons, course_id))
        ACTIVATIONS.inc(tags=self.tags | {"kind": "course"})
        return state

    async def course(self, course_id: int) -> CourseEntity:
        entity = self.courses.get(course_id)
        if entity is None:
            state = await self.course_state(course_id)
            entity = self.courses.setdefault(
                course_id, CourseEntity(course_id, state, state.enrolled_count)
            )
        entity.used = time.monotonic()
        return entity

    async def student(self, student_id: int) -> StudentEntity:
        entity = self.students.get(student_id)
        if entity is None:
            entity = await self.loads.load(
                ("student", student_id), lambda: self.load_student(student_id)
            )
        entity.used = time.monotonic()
        return entity

    async def load_student(self, student_id: int) -> StudentEntity:
        loaded = await self.fresh(student_id)
        entity = StudentEntity(student_id, {e.course_id: e for e in loaded})
        self.students[student_id] = entity
        ACTIVATIONS.inc(tags=self.tags | {"kind": "student"})
        return entity

    async def reload_enrollment(
        self, student: StudentEntity, course_id: int
    ) -> EnrollmentState | None:
        """Re-read one enrollment that may have changed elsewhere (created, activated)."""
        if student.pending.get(getattr(student.by_course.get(course_id), "id", 0)):
            return student.by_course[course_id]
        async with self.db.unit_of_work() as uow:
            found = await EnrollmentRepository(uow.session).enrollments(
                student.student_id, course_id
            )
        if found:
            student.by_course[course_id] = found[0]
        return found[0] if found else None

    async def active_enrollment(self, student: StudentEntity, course_id: int) -> EnrollmentState:
        enrollment = student.by_course.get(course_id)
        if enrollment is None or enrollment.status not in PROGRESSING:
            enrollment = await self.reload_enrollment(student, course_id)
        if enrollment is None or enrollment.status == EnrollmentStatus.DROPPED:
            raise NotFound("You are not enrolled in this lesson's course")
        if enrollment.status == EnrollmentStatus.WAITLISTED:
            raise Conflict("You are on the course's waitlist; lessons open with your seat")
        if enrollment.status == EnrollmentStatus.PENDING:
            raise Conflict("The enrollment is still being set up; retry in a moment")
        return enrollment

    async def lesson_enrollment(self, student_id: int, lesson_id: int):
        course_id = self.lesson_course.get(lesson_id)
        if course_id is None:
            course_id = await self.loads.load(
                ("lesson", lesson_id), lambda: self.lesson_of(lesson_id)
            )
        student = await self.student(student_id)
        enrollment = await self.active_enrollment(student, course_id)
        structure = (await self.course_state(course_id)).structure
        if structure.module_of(lesson_id) is None:  # removed from the course by a revision
            raise NotFound("Lesson not found")
        return student, enrollment, structure

    async def lesson_of(self, lesson_id: int) -> int:
        async with self.db.unit_of_work() as uow:
            course_id = await EnrollmentRepository(uow.session).course_of_lesson(lesson_id)
        if course_id is None:
            raise NotFound("Lesson not found")
        self.lesson_course[lesson_id] = course_id
        return course_id

    # Progress -------------------------------------------------------------------------------

    async def complete(self, op: Complete) -> dict[str, Any]:
        student, enrollment, structure = await self.lesson_enrollment(op.student_id, op.lesson_id)
        key = (enrollment.id, op.lesson_id)
        if op.lesson_id in enrollment.completed:
            return progress_view(enrollment, structure)
        if key in student.inflight:
            # The same lesson is already on its way to the database: answer with that commit.
            await asyncio.shield(student.inflight[key])
            return progress_view(enrollment, structure)
        before = student.done_or_pending(enrollment)
        change, events = completion(enrollment, structure, before, op.lesson_id)
        await self.commit(student, key, change, events)
        return progress_view(enrollment, structure)

    async def submit_quiz(self, op: SubmitQuiz) -> dict[str, Any]:
        student, enrollment, structure = await self.lesson_enrollment(op.student_id, op.lesson_id)
        quiz = structure.quizzes.get(op.lesson_id)
        if quiz is None:
            raise NotFound("Quiz not found")
        result = score_quiz(quiz, list(op.answers))
        limit = self.settings.quiz_max_attempts
        number = student.attempt_number(enrollment, op.lesson_id, limit)
        key = (enrollment.id, op.lesson_id)
        student.pending_attempts[key] = student.pending_attempts.get(key, 0) + 1
        before = student.done_or_pending(enrollment)
        attempt = (op.lesson_id, number, op.answers)
        change, events = quiz_attempt(enrollment, structure, before, attempt, result)
        try:
            if change.lesson_id is not None:
                await self.commit(student, key, change, events)
            else:
                await self.committer.submit(change, events)
        finally:
            student.pending_attempts[key] -= 1
            if not student.pending_attempts[key]:
                del student.pending_attempts[key]
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
        enrollment_id, lesson_id = key
        pending = student.pending[enrollment_id]
        done = asyncio.get_running_loop().create_future()
        student.inflight[key] = done
        pending.add(lesson_id)
        try:
            await self.committer.submit(change, events)
            done.set_result(None)
        except BaseException as error:
            done.set_exception(error)
            done.exception()  # retrieved here, so an unawaited failure is not logged as lost
            raise
        finally:
            pending.discard(lesson_id)
            del student.inflight[key]

    async def committed(self, changes: Sequence[ProgressChange]) -> None:
        """After a commit: apply the changes to the entities, then refresh their snapshots."""
        touched: dict[int, EnrollmentState] = {}
        for change in changes:
            enrollment = self.enrollment_by_id(change.enrollment_id, change.student_id)
            if enrollment is not None:
                apply(enrollment, change)
                touched[enrollment.id] = enrollment
        snapshots = {}
        for enrollment in touched.values():
            structure = self.structures.get(enrollment.course_id)
            if structure is not None:
                snapshots[enrollment.id] = progress_view(enrollment, structure.structure) | {
                    "student_id": enrollment.student_id
                }
        await self.cache.put_many(snapshots)

    def enrollment_by_id(self, enrollment_id: int, student_id: int) -> EnrollmentState | None:
        student = self.students.get(student_id)
        return student.by_id(enrollment_id) if student is not None else None

    async def owned_enrollment(self, student: StudentEntity, enrollment_id: int) -> EnrollmentState:
        """The student's enrollment by id; re-read when unknown or waiting on a workflow."""
        enrollment = student.by_id(enrollment_id)
        if enrollment is None or awaits_outside_change(enrollment):
            found = [e for e in await self.fresh(student.student_id) if e.id == enrollment_id]
            if not found:
                raise NotFound("Enrollment not found")
            if not student.pending.get(enrollment_id):
                student.by_course[found[0].course_id] = found[0]
            enrollment = student.by_course[found[0].course_id]
        return enrollment

    async def read_progress(self, op: ReadProgress) -> dict[str, Any]:
        student = await self.student(op.student_id)
        enrollment = await self.owned_enrollment(student, op.enrollment_id)
        structure = (await self.course_state(enrollment.course_id)).structure
        return enrollment_view(enrollment) | {"progress": progress_view(enrollment, structure)}

    # Seats: admission and the waitlist (course shard), drop (student shard) ---------------

    async def admit(self, op: Admit) -> dict[str, Any]:
        course = await self.course(op.course_id)
        async with course.lock:
            return await self.seating.admit(course, op.student_id)

    async def fill_seats(self, op: FillSeats) -> list[dict[str, Any]]:
        course = await self.course(op.course_id)
        async with course.lock:
            return await self.seating.fill(course)

    async def drop(self, op: Drop) -> dict[str, Any]:
        """The enrollment dropped; `freed_seat` tells the caller to fill the course's seats."""
        student = await self.student(op.student_id)
        enrollment = await self.owned_enrollment(student, op.enrollment_id)
        if enrollment.status == EnrollmentStatus.DROPPED:
            return enrollment_view(enrollment) | {"freed_seat": False}
        if enrollment.status == EnrollmentStatus.COMPLETED:
            raise Conflict("A completed enrollment cannot be dropped")
        if student.pending.get(enrollment.id):
            raise Conflict("Progress is being saved; retry in a moment")
        freed = await self.seating.release(enrollment)
        enrollment.status = EnrollmentStatus.DROPPED
        return enrollment_view(enrollment) | {"freed_seat": freed}

    async def fresh(self, student_id: int) -> list[EnrollmentState]:
        async with self.db.unit_of_work() as uow:
            return await EnrollmentRepository(uow.session).enrollments(student_id)

    # Passivation ----------------------------------------------------------------------------

    async def passivate_forever(self) -> None:
        idle = self.settings.entity_idle_seconds
        while True:
            await asyncio.sleep(max(1.0, min(idle / 4, 60.0)))
            self.passivate(time.monotonic() - idle)

    def passivate(self, cutoff: float) -> None:
        students = [k for k, s in self.students.items() if s.used < cutoff and not s.busy]
        courses = [k for k, c in self.courses.items() if c.used < cutoff and not c.lock.locked()]
        for key in students:
            del self.students[key]
        for key in courses:
            del self.courses[key]
            self.structures.pop(key, None)
        for kind, dropped, held in (
            ("student", students, self.students),
            ("course", courses, self.courses),
        ):
            if dropped:
                PASSIVATIONS.inc(len(dropped), tags=self.tags | {"kind": kind})
            ACTIVE.set(len(held), tags=self.tags | {"kind": kind})
        MAILBOX.set(self.committer.depth, tags=self.tags)

    async def stats(self) -> dict[str, Any]:
        return {
            "node_id": ray.get_runtime_context().get_node_id(),
            "students": len(self.students),
            "courses": len(self.courses),
            "mailbox": self.committer.depth,
            "up_seconds": time.monotonic() - self.started,
        }

"""The entities placed on one shard: activated from PostgreSQL on first use (single-flight, so
concurrent calls share one read), found in memory after that, re-read when they may have
changed elsewhere (created or activated by another shard or a workflow), and passivated when
idle. The shard (actors/shard.py) hosts them and dispatches calls to them."""

import time

from ray.util.metrics import Counter, Gauge

from actors.entities.course import CourseEntity
from actors.entities.enrollment import StudentEntity, awaits_outside_change
from actors.loading import SingleFlight
from core.enrollments import CourseState, EnrollmentState
from core.errors import Conflict, NotFound
from core.progress import CourseStructure
from core.status import EnrollmentStatus
from storage.db import Database
from storage.repositories.enrollment import EnrollmentRepository

# Enrollments that take lesson completions; any other is re-read before it is refused.
PROGRESSING = (EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED)
ACTIVE = Gauge("smartcourse_active_entities", "Entities held in memory", ("shard", "kind"))
ACTIVATIONS = Counter("smartcourse_entity_activations", "Entities loaded", ("shard", "kind"))
PASSIVATIONS = Counter(
    "smartcourse_entity_passivations", "Idle entities dropped", ("shard", "kind")
)


class Entities:
    def __init__(self, db: Database, tags: dict[str, str]) -> None:
        self.db, self.tags = db, tags
        self.courses: dict[int, CourseEntity] = {}
        self.structures: dict[int, CourseState] = {}
        self.students: dict[int, StudentEntity] = {}
        self.lesson_course: dict[int, int] = {}
        self.loads = SingleFlight()

    def forget_course(self, course_id: int) -> None:
        self.courses.pop(course_id, None)
        self.structures.pop(course_id, None)
        for lesson_id in [k for k, v in self.lesson_course.items() if v == course_id]:
            del self.lesson_course[lesson_id]

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
        if student.pending_lessons(getattr(student.by_course.get(course_id), "id", 0)):
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

    async def lesson_enrollment(
        self, student_id: int, lesson_id: int
    ) -> tuple[StudentEntity, EnrollmentState, CourseStructure]:
        """The student, their active enrollment in the lesson's course and its structure."""
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
            if not student.pending_lessons(enrollment_id):
                student.by_course[found[0].course_id] = found[0]
            enrollment = student.by_course[found[0].course_id]
        return enrollment

    async def fresh(self, student_id: int) -> list[EnrollmentState]:
        async with self.db.unit_of_work() as uow:
            return await EnrollmentRepository(uow.session).enrollments(student_id)

    def passivate(self, cutoff: float) -> None:
        """Drop the entities unused since `cutoff` that no call is using."""
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

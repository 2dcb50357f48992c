"""The enrollment changes that move seats, stored in PostgreSQL with their events in one
transaction: admission and filling freed seats from the waitlist (in the course's shard,
inside the course entity's turn), and the drop (in the student's shard). The entities decide
by core's rules; this module reads what they decide on and writes what they decided."""

from datetime import UTC, datetime
from typing import Any

from actors.entities.course import CourseEntity
from actors.entities.enrollment import enrollment_event, enrollment_view
from core.enrollments import Admitted, EnrollmentState, Refused, Waitlisted
from core.errors import Conflict
from core.status import ENROLLMENT_MOVES, SEAT_HOLDING, EnrollmentStatus, sources
from storage.course_cache import CourseCache
from storage.db import Database
from storage.repositories.enrollment import EnrollmentRepository

# A drop frees a seat only from these statuses; a waitlisted drop just leaves the queue.
DROPPED_HOLDING = [
    s for s in sources(ENROLLMENT_MOVES, EnrollmentStatus.DROPPED) if s in SEAT_HOLDING
]


class Seating:
    def __init__(self, db: Database, course_cache: CourseCache) -> None:
        # The public course view shows the seat count; it is refreshed when a seat changes.
        self.db, self.course_cache = db, course_cache

    async def admit(self, course: CourseEntity, student_id: int) -> dict[str, Any]:
        """The student's enrollment in the course: the existing one, or a new one, pending
        (it took a seat) or waitlisted; Conflict when `admission` refuses. Call in the course
        entity's turn (`course.lock`)."""
        async with self.db.unit_of_work() as uow:
            repo = EnrollmentRepository(uow.session)
            existing = await repo.enrollments(student_id, course.course_id)
            if existing:
                return await self.known(repo, existing[0])
            completed = await repo.completed_courses(student_id, course.state.prerequisite_ids)
            waiting = await repo.waiting(course.course_id) if course.state.waitlist else 0
            if course.may_be_stale:
                course.taken = await repo.seats_taken(course.course_id)
            decision = course.decide(completed, waiting)
            if isinstance(decision, Refused):
                raise decision.error()
            status = (
                EnrollmentStatus.WAITLISTED
                if isinstance(decision, Waitlisted)
                else EnrollmentStatus.PENDING
            )
            taken = await repo.take_seat(course.course_id) if isinstance(decision, Admitted) else 0
            if taken is None:
                raise Conflict("The course is full")
            state = await repo.insert(student_id, course.course_id, datetime.now(UTC), status)
            if state is None:
                raise Conflict("The enrollment changed concurrently; retry")
            events = course.waitlisted(state) if taken == 0 else course.admitted(state, taken)
            uow.emit(*events)
            await uow.commit()
        if taken:
            await self.course_cache.set_enrolled(course.course_id, taken)
        position = decision.position if isinstance(decision, Waitlisted) else None
        return enrollment_view(state) | {"created": True, "position": position}

    async def known(self, repo: EnrollmentRepository, found: EnrollmentState) -> dict[str, Any]:
        position = None
        if found.status == EnrollmentStatus.WAITLISTED:
            position = await repo.position(found.course_id, found.id)
        return enrollment_view(found) | {"created": False, "position": position}

    async def fill(self, course: CourseEntity) -> list[dict[str, Any]]:
        """Give the course's free seats to the head of its waitlist, in order; the enrollments
        admitted (now pending: their workflow is the caller's to start). Call in the course
        entity's turn."""
        admitted: list[EnrollmentState] = []
        async with self.db.unit_of_work() as uow:
            repo = EnrollmentRepository(uow.session)
            waiting = await repo.waiting(course.course_id)
            if not waiting:
                return []
            course.taken = await repo.seats_taken(course.course_id)
            now = datetime.now(UTC)
            for _ in range(course.promotions(waiting)):
                found = await repo.promote_head(course.course_id, now)
                if found is None:
                    break
                state, taken = found
                admitted.append(state)
                uow.emit(*course.promoted(admitted[-1], taken))
            await uow.commit()
        if admitted:
            await self.course_cache.set_enrolled(course.course_id, course.taken)
        return [enrollment_view(state) for state in admitted]

    async def release(self, enrollment: EnrollmentState) -> bool:
        """Store a drop; True when it freed a seat (so the waitlist may move up)."""
        at = datetime.now(UTC)
        async with self.db.unit_of_work() as uow:
            repo = EnrollmentRepository(uow.session)
            waitlisted = [EnrollmentStatus.WAITLISTED]
            if await repo.set_status(
                enrollment.id, waitlisted, EnrollmentStatus.DROPPED, dropped_at=at
            ):
                freed, kind = False, "waitlist_left"
            elif await repo.set_status(
                enrollment.id, DROPPED_HOLDING, EnrollmentStatus.DROPPED, dropped_at=at
            ):
                await repo.free_seat(enrollment.course_id)
                freed, kind = True, "dropped"
            else:
                return False
            uow.emit(enrollment_event(kind, enrollment))
            await uow.commit()
        if freed:
            await self.course_cache.forget_enrolled(enrollment.course_id)
        return freed

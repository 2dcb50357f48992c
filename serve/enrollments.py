"""The enrollments service (in the ingress process): enrolling (admitted by the course entity, then
EnrollmentWorkflow), reading and dropping enrollments, and progress reads.

Lesson completions and quiz submissions do not pass through here: the gateway sends them to
the student's shard directly (DESIGN.md: no extra hop on the hot path).
"""

import logging
from typing import Any

from actors.ops import Admit, Drop, FillSeats, ReadProgress
from core.errors import DependencyDown, Forbidden, NotFound
from core.identity import Principal, Role
from core.pages import PageQuery, page_of
from core.status import EnrollmentStatus
from serve.resources import Resources
from storage.idempotency import IdempotencyKeys, enrollment_keys
from storage.progress_cache import ProgressCache
from storage.repositories.enrollment import Enrollment, EnrollmentRepository
from storage.temporal import EnrollmentRequest, enroll_workflow_id

log = logging.getLogger(__name__)


def accepted(enrollment: dict[str, Any], created: bool) -> dict[str, Any]:
    waitlisted = enrollment["status"] == EnrollmentStatus.WAITLISTED
    answer = {
        "enrollment_id": enrollment["id"],
        "status": enrollment["status"].upper(),
        # A waitlisted enrollment has no workflow until a seat admits it.
        "workflow_id": None if waitlisted else enroll_workflow_id(enrollment["id"]),
        "created": created,
    }
    if waitlisted:
        answer["position"] = enrollment.get("position")
    return answer


class Enrollments:
    def __init__(self, resources: Resources) -> None:
        settings, redis = resources.settings, resources.redis
        self.settings = settings
        self.db = resources.db
        self.keys = IdempotencyKeys(redis, settings.idempotency_ttl_seconds)
        self.progress_cache = ProgressCache(redis, settings.progress_cache_ttl_seconds)
        self.shards = resources.shards
        self._temporal = resources.temporal

    async def start_workflow(self, enrollment: dict[str, Any]) -> None:
        request = EnrollmentRequest(
            enrollment["id"], enrollment["student_id"], enrollment["course_id"]
        )
        await self._temporal.start_enrollment(request)

    async def enroll(
        self, principal: Principal, course_id: int, idempotency_key: str | None
    ) -> dict[str, Any]:
        """The enrollment of the caller in the course; `created` tells a new one (202)."""
        if principal.role is not Role.STUDENT:
            raise Forbidden("Only students enroll in courses")
        keys = enrollment_keys(principal.user_id, course_id, idempotency_key)
        known = await self.keys.find(keys)
        found = await self.enrollment_of(principal, known) if known is not None else None
        # A waitlisted one is answered by its course, which knows its place in the queue.
        waiting = found is not None and found.status == EnrollmentStatus.WAITLISTED
        if found is not None and found.course_id == course_id and not waiting:
            return accepted(await self.read(found), created=False)
        enrollment = await self.shards.call(Admit(course_id, principal.user_id))
        if enrollment["status"] == EnrollmentStatus.PENDING:
            # Also for an existing pending one: a retry after a lost start completes the setup.
            await self.start_workflow(enrollment)
        await self.keys.remember(keys, enrollment["id"])
        return accepted(enrollment, created=enrollment["created"])

    async def enrollment_of(self, principal: Principal, enrollment_id: int) -> Enrollment | None:
        async with self.db.unit_of_work() as uow:
            enrollment = await EnrollmentRepository(uow.session).get(enrollment_id)
        if enrollment is None or not principal.may_act_for(enrollment.student_id):
            return None
        return enrollment

    async def owned(self, principal: Principal, enrollment_id: int) -> Enrollment:
        enrollment = await self.enrollment_of(principal, enrollment_id)
        if enrollment is None:
            raise NotFound("Enrollment not found")
        return enrollment

    async def read(self, enrollment: Enrollment) -> dict[str, Any]:
        return await self.shards.call(ReadProgress(enrollment.student_id, enrollment.id))

    async def get(self, principal: Principal, enrollment_id: int) -> dict[str, Any]:
        if principal.is_admin:
            return await self.read(await self.owned(principal, enrollment_id))
        # The caller's own enrollments are on their entity, which finds this one in memory or
        # re-reads PostgreSQL and answers 404 for anyone else's: no lookup here first.
        return await self.shards.call(ReadProgress(principal.user_id, enrollment_id))

    async def progress(self, principal: Principal, enrollment_id: int) -> dict[str, Any]:
        cached = await self.progress_cache.get(enrollment_id)
        if cached is not None and principal.may_act_for(cached.pop("student_id")):
            return cached
        return (await self.get(principal, enrollment_id))["progress"]

    async def my_courses(self, principal: Principal, query: PageQuery) -> dict[str, Any]:
        async with self.db.unit_of_work() as uow:
            rows, total = await EnrollmentRepository(uow.session).for_student(
                principal.user_id, query.offset, query.limit
            )
            items = [
                {
                    "id": row.id,
                    "student_id": row.student_id,
                    "course_id": row.course_id,
                    "status": row.status,
                    "enrolled_at": row.enrolled_at,
                    "completed_at": row.completed_at,
                    "certificate_id": row.certificate_id,
                }
                for row in rows
            ]
        return page_of(query, items, total)

    async def drop(self, principal: Principal, enrollment_id: int) -> dict[str, Any]:
        enrollment = await self.owned(principal, enrollment_id)
        dropped = await self.shards.call(Drop(enrollment.student_id, enrollment.id))
        if dropped.pop("freed_seat"):
            await self.fill_seats(enrollment.course_id)
        return dropped

    async def fill_seats(self, course_id: int) -> None:
        """The freed seat goes to the head of the waitlist at once, in the course entity's
        turn; whoever it admits is set up by the usual enrollment workflow. The drop itself is
        done: a failure here is logged, and the next drop or a retried enrollment of the
        admitted student (it answers the pending one and starts its workflow) catches up."""
        try:
            admitted = await self.shards.call(FillSeats(course_id))
            for enrollment in admitted:
                await self.start_workflow(enrollment)
        except DependencyDown as error:
            log.warning("event=waitlist_fill_failed course_id=%d error=%s", course_id, error)

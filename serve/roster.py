"""The instructor tools service (in the ingress process): a course's roster and its gradebook
CSV, for the course's owner and admins only (to anyone else the course's learners do not
exist: 404, as for course analytics)."""

from collections.abc import AsyncIterator
from typing import Any

from core.errors import NotFound
from core.identity import Principal
from core.pages import page_of
from core.roster import RosterQuery, cells, csv_text, header
from serve.resources import Resources
from storage.repositories.course import CourseRepository
from storage.repositories.roster import RosterRepository


class Roster:
    def __init__(self, resources: Resources) -> None:
        self.db = resources.db
        self.page_rows = resources.settings.gradebook_page_rows

    async def check_owner(self, principal: Principal, course_id: int) -> None:
        async with self.db.unit_of_work() as uow:
            course = await CourseRepository(uow.session).get(course_id)
        if course is None or not principal.may_act_for(course.instructor_id):
            raise NotFound("Course not found")

    async def students(
        self, principal: Principal, course_id: int, query: RosterQuery
    ) -> dict[str, Any]:
        await self.check_owner(principal, course_id)
        async with self.db.unit_of_work() as uow:
            entries, total = await RosterRepository(uow.session).page(course_id, query)
        return page_of(query, [e.model_dump(mode="json") for e in entries], total)

    async def gradebook(self, principal: Principal, course_id: int) -> AsyncIterator[str]:
        """The CSV as text chunks (checked before the first byte, so a refusal is an error
        answer, not a broken stream)."""
        await self.check_owner(principal, course_id)
        return self.gradebook_chunks(course_id)

    async def gradebook_chunks(self, course_id: int) -> AsyncIterator[str]:
        # One short transaction per page: no snapshot is held open while a slow client reads.
        async with self.db.unit_of_work() as uow:
            columns = await RosterRepository(uow.session).columns(course_id)
        yield csv_text([header(columns)])
        after = 0
        while True:
            async with self.db.unit_of_work() as uow:
                rows = await RosterRepository(uow.session).gradebook_page(
                    course_id, after, self.page_rows
                )
            if not rows:
                return
            yield csv_text(cells(row, columns) for row in rows)
            after = rows[-1].enrollment_id

"""The course entity: status, seats and structure of one course, and the single writer of its
admissions. It admits one enrollment at a time (`lock`), so `enrollment_limit` is never
overbooked and the waitlist keeps its order."""

import asyncio
import time
from dataclasses import dataclass, field

from actors.entities.enrollment import enrollment_event
from core.enrollments import Admission, CourseState, EnrollmentState, Seats, admission, promotions
from core.events import EventEnvelope


@dataclass
class CourseEntity:
    course_id: int
    state: CourseState
    # Seats held, as last known; a drop elsewhere lowers it in PostgreSQL only, so a full
    # course re-reads it (`may_be_stale`) before refusing anyone.
    taken: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    used: float = field(default_factory=time.monotonic)

    def seats(self, waiting: int) -> Seats:
        return Seats(
            status=self.state.status,
            prerequisite_ids=self.state.prerequisite_ids,
            limit=self.state.enrollment_limit,
            taken=self.taken,
            waitlist=self.state.waitlist,
            waiting=waiting,
        )

    @property
    def may_be_stale(self) -> bool:
        limit = self.state.enrollment_limit
        return limit is not None and self.taken >= limit

    def decide(self, completed_courses: set[int], waiting: int) -> Admission:
        return admission(self.seats(waiting), completed_courses)

    def promotions(self, waiting: int) -> int:
        return promotions(self.seats(waiting))

    def admitted(self, enrollment: EnrollmentState, taken: int) -> list[EventEnvelope]:
        """A new enrollment took a seat: the usual setup (enrollment workflow) follows."""
        self.taken = taken
        return [enrollment_event("created", enrollment)]

    def waitlisted(self, enrollment: EnrollmentState) -> list[EventEnvelope]:
        return [enrollment_event("waitlisted", enrollment)]

    def promoted(self, enrollment: EnrollmentState, taken: int) -> list[EventEnvelope]:
        """The head of the waitlist took a freed seat: it is created as any admitted enrollment
        (welcome, analytics) and told it left the waitlist."""
        self.taken = taken
        return [
            enrollment_event("created", enrollment),
            enrollment_event("waitlist_admitted", enrollment),
        ]

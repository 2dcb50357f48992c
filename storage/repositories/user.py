"""Users and instructor profiles in PostgreSQL."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.user import InstructorProfile, User

# Courses and enrollments arrive with later migrations (0002, 0003); until both tables exist
# an instructor's totals are 0. Counting at read time keeps them exact without a counter that
# every course and enrollment change would have to maintain.
COURSE_TABLES = text(
    "SELECT to_regclass('courses') IS NOT NULL AND to_regclass('enrollments') IS NOT NULL"
)
INSTRUCTOR_TOTALS = text(
    """
    SELECT
      (SELECT count(*) FROM courses c
        WHERE c.instructor_id = :user_id AND c.status = 'published') AS total_courses,
      (SELECT count(DISTINCT e.student_id) FROM enrollments e JOIN courses c ON c.id = e.course_id
        WHERE c.instructor_id = :user_id AND e.status <> 'dropped') AS total_students
    """
)


@dataclass(frozen=True, slots=True)
class Contact:
    user_id: int
    email: str
    full_name: str


@dataclass(frozen=True, slots=True)
class InstructorTotals:
    total_courses: int = 0
    total_students: int = 0


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, email: str, password_hash: str, full_name: str, role: str) -> User | None:
        """The new user, or None when the (normalised) email is taken; never raises for that,
        so the transaction stays usable and nothing is written."""
        statement = (
            insert(User)
            .values(email=email, password_hash=password_hash, full_name=full_name, role=role)
            .on_conflict_do_nothing(index_elements=[User.email])
            .returning(User)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def add_instructor_profile(self, user_id: int) -> None:
        self.session.add(InstructorProfile(user_id=user_id, bio="", expertise=[]))
        await self.session.flush()

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def erased(self, user_ids: Sequence[int]) -> set[int]:
        """Those of `user_ids` whose personal data was erased (they are told nothing more).
        The users' rows stay share-locked until the caller's transaction ends, so an erasure
        cannot commit between this answer and the notices written on it: it waits, and its
        `user.deleted` then removes them, or it came first and is seen here."""
        if not user_ids:
            return set()
        rows = await self.session.execute(
            select(User.id, User.deleted_at)
            .where(User.id.in_(sorted(user_ids)))
            .order_by(User.id)
            .with_for_update(read=True)
        )
        return {user_id for user_id, deleted_at in rows if deleted_at is not None}

    async def contacts(self, user_ids: Sequence[int]) -> list[Contact]:
        """The email address and name of each of the users that exists."""
        rows = await self.session.execute(
            select(User.id, User.email, User.full_name).where(User.id.in_(user_ids))
        )
        return [Contact(*row) for row in rows]

    async def by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email))

    async def update(
        self,
        user_id: int,
        *,
        full_name: str | None = None,
        password_hash: str | None = None,
        now: datetime | None = None,
    ) -> User | None:
        values: dict[str, object] = {}
        if full_name is not None:
            values["full_name"] = full_name
        if password_hash is not None:
            values |= {"password_hash": password_hash, "password_changed_at": now}
        if not values:
            return await self.get(user_id)
        statement = update(User).where(User.id == user_id).values(**values).returning(User)
        return (await self.session.scalars(statement)).one_or_none()

    async def instructor(self, user_id: int) -> tuple[User, InstructorProfile] | None:
        statement = select(User, InstructorProfile).join(
            InstructorProfile, InstructorProfile.user_id == User.id
        )
        row = (await self.session.execute(statement.where(User.id == user_id))).one_or_none()
        return None if row is None else (row[0], row[1])

    async def update_instructor(
        self, user_id: int, *, bio: str | None = None, expertise: list[str] | None = None
    ) -> None:
        values: dict[str, object] = {}
        if bio is not None:
            values["bio"] = bio
        if expertise is not None:
            values["expertise"] = expertise
        if values:
            await self.session.execute(
                update(InstructorProfile)
                .where(InstructorProfile.user_id == user_id)
                .values(**values)
            )

    async def instructor_totals(self, user_id: int) -> InstructorTotals:
        if not await self.session.scalar(COURSE_TABLES):
            return InstructorTotals()
        row = (await self.session.execute(INSTRUCTOR_TOTALS, {"user_id": user_id})).one()
        return InstructorTotals(int(row.total_courses), int(row.total_students))

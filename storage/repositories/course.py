"""Courses, their prerequisites, modules, lessons and materials in PostgreSQL."""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.courses import CatalogQuery
from core.status import CourseStatus
from storage.models.course import (
    Course,
    CoursePrerequisite,
    Lesson,
    Material,
    Module,
    PublishFailure,
)

# The catalog's full-text document: what a student would search a course by.
SEARCH_DOCUMENT = text(
    """
    UPDATE courses c SET search_vector =
      setweight(to_tsvector('english', c.title), 'A') ||
      setweight(to_tsvector('english', c.category || ' ' || c.description), 'B') ||
      setweight(to_tsvector('english', coalesce((
        SELECT string_agg(l.title, ' ') FROM lessons l
        WHERE l.course_id = c.id AND l.deleted_at IS NULL), '')), 'C')
    WHERE c.id = :course_id
    """
)


class CourseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, instructor_id: int, fields: dict[str, Any]) -> Course:
        course = Course(
            instructor_id=instructor_id, status=CourseStatus.DRAFT, enrolled_count=0, **fields
        )
        self.session.add(course)
        await self.session.flush()
        return course

    async def get(self, course_id: int, *, for_update: bool = False) -> Course | None:
        statement = select(Course).where(Course.id == course_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def flush(self) -> None:
        """Write the changes made to the rows it handed out (the commit is the caller's)."""
        await self.session.flush()

    async def titles(self, course_ids: Iterable[int]) -> dict[int, str]:
        """The title of each of the courses that exists."""
        return await self.titles_of(Course, course_ids)

    async def module_titles(self, module_ids: Iterable[int]) -> dict[int, str]:
        """The title of each of the modules that exists, also of a removed one (its events may
        arrive after)."""
        return await self.titles_of(Module, module_ids)

    async def titles_of(self, model: type[Course | Module], ids: Iterable[int]) -> dict[int, str]:
        wanted = sorted(ids)
        if not wanted:
            return {}
        rows = await self.session.execute(select(model.id, model.title).where(model.id.in_(wanted)))
        return {row_id: title for row_id, title in rows}

    async def prerequisite_ids(self, course_id: int) -> list[int]:
        rows = await self.session.scalars(
            select(CoursePrerequisite.prerequisite_id)
            .where(CoursePrerequisite.course_id == course_id)
            .order_by(CoursePrerequisite.prerequisite_id)
        )
        return list(rows)

    async def prerequisites_of(self, course_ids: Sequence[int]) -> dict[int, list[int]]:
        rows = await self.session.execute(
            select(CoursePrerequisite.course_id, CoursePrerequisite.prerequisite_id).where(
                CoursePrerequisite.course_id.in_(course_ids)
            )
        )
        found: dict[int, list[int]] = {course_id: [] for course_id in course_ids}
        for course_id, prerequisite_id in rows:
            found[course_id].append(prerequisite_id)
        return found

    async def visible_courses(self, course_ids: Sequence[int], viewer_id: int | None) -> set[int]:
        """The ids among `course_ids` that the viewer may see: published or archived, or the
        viewer's own; `viewer_id` None means every course (an admin)."""
        query = select(Course.id).where(Course.id.in_(course_ids))
        if viewer_id is not None:
            public = Course.status.in_((CourseStatus.PUBLISHED, CourseStatus.ARCHIVED))
            query = query.where(or_(public, Course.instructor_id == viewer_id))
        return set(await self.session.scalars(query))

    async def set_prerequisites(self, course_id: int, prerequisite_ids: Sequence[int]) -> None:
        await self.session.execute(
            delete(CoursePrerequisite).where(CoursePrerequisite.course_id == course_id)
        )
        rows = [{"course_id": course_id, "prerequisite_id": p} for p in set(prerequisite_ids)]
        if rows:
            await self.session.execute(insert(CoursePrerequisite), rows)

    async def modules(self, course_id: int) -> list[Module]:
        rows = await self.session.scalars(
            select(Module)
            .where(Module.course_id == course_id, Module.deleted_at.is_(None))
            .order_by(Module.position, Module.id)
        )
        return list(rows)

    async def lessons(self, course_id: int) -> list[Lesson]:
        rows = await self.session.scalars(
            select(Lesson)
            .where(Lesson.course_id == course_id, Lesson.deleted_at.is_(None))
            .order_by(Lesson.position, Lesson.id)
        )
        return list(rows)

    async def get_module(self, course_id: int, module_id: int) -> Module | None:
        statement = select(Module).where(
            Module.id == module_id, Module.course_id == course_id, Module.deleted_at.is_(None)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def next_position(self, model: type[Module] | type[Lesson], **where: int) -> int:
        column = func.coalesce(func.max(model.position) + 1, 0)
        filters = [getattr(model, name) == value for name, value in where.items()]
        return (await self.session.scalar(select(column).where(*filters))) or 0

    async def add_module(self, course_id: int, title: str, position: int | None) -> Module:
        if position is None:
            position = await self.next_position(Module, course_id=course_id)
        module = Module(course_id=course_id, title=title, position=position)
        self.session.add(module)
        await self.session.flush()
        return module

    async def add_lesson(self, module: Module, fields: dict[str, Any]) -> Lesson:
        if fields.get("position") is None:
            fields["position"] = await self.next_position(Lesson, module_id=module.id)
        lesson = Lesson(module_id=module.id, course_id=module.course_id, **fields)
        self.session.add(lesson)
        await self.session.flush()
        return lesson

    async def get_lesson(self, course_id: int, module_id: int, lesson_id: int) -> Lesson | None:
        statement = select(Lesson).where(
            Lesson.id == lesson_id,
            Lesson.module_id == module_id,
            Lesson.course_id == course_id,
            Lesson.deleted_at.is_(None),
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def remove_lesson(self, lesson_id: int) -> None:
        """Marked, not deleted: its completions and quiz attempts stay, and stop counting."""
        await self.session.execute(
            update(Lesson).where(Lesson.id == lesson_id).values(deleted_at=datetime.now(UTC))
        )

    async def remove_module(self, module_id: int) -> None:
        """The module and its lessons are marked removed (see `remove_lesson`)."""
        now = datetime.now(UTC)
        await self.session.execute(
            update(Lesson)
            .where(Lesson.module_id == module_id, Lesson.deleted_at.is_(None))
            .values(deleted_at=now)
        )
        await self.session.execute(
            update(Module).where(Module.id == module_id).values(deleted_at=now)
        )

    async def reorder(self, rows: Sequence[Module] | Sequence[Lesson], ids: Sequence[int]) -> bool:
        """Positions 0.. in the order of `ids`, which must name exactly `rows`; False if not."""
        by_id = {row.id: row for row in rows}
        if set(ids) != set(by_id) or len(ids) != len(by_id):
            return False
        for position, row_id in enumerate(ids):
            by_id[row_id].position = position
        await self.session.flush()
        return True

    async def next_structure_version(self, course_id: int) -> int:
        return await self.session.scalar(
            update(Course)
            .where(Course.id == course_id)
            .values(structure_version=Course.structure_version + 1, updated_at=datetime.now(UTC))
            .returning(Course.structure_version)
        )

    async def add_material(self, course_id: int, fields: dict[str, Any]) -> Material:
        material = Material(course_id=course_id, **fields)
        self.session.add(material)
        await self.session.flush()
        return material

    async def materials(self, course_id: int) -> list[Material]:
        rows = await self.session.scalars(
            select(Material).where(Material.course_id == course_id).order_by(Material.id)
        )
        return list(rows)

    async def touch(self, course_id: int) -> None:
        await self.session.execute(
            update(Course).where(Course.id == course_id).values(updated_at=datetime.now(UTC))
        )

    async def move_status(
        self, course_id: int, from_statuses: Sequence[str], to_status: str, **values: Any
    ) -> bool:
        """Change the status only from one of `from_statuses`: the database decides between two
        concurrent writers; False when the course was not in such a state."""
        result = await self.session.execute(
            update(Course)
            .where(Course.id == course_id, Course.status.in_(from_statuses))
            .values(status=to_status, updated_at=datetime.now(UTC), **values)
        )
        return result.rowcount == 1

    async def index_for_search(self, course_id: int) -> None:
        await self.session.execute(SEARCH_DOCUMENT, {"course_id": course_id})

    async def clear_search_index(self, course_id: int) -> None:
        await self.session.execute(
            update(Course).where(Course.id == course_id).values(search_vector=None)
        )

    async def record_publish_failure(self, course_id: int, workflow_id: str, reason: str) -> None:
        self.session.add(
            PublishFailure(course_id=course_id, workflow_id=workflow_id, reason=reason)
        )

    async def catalog(self, query: CatalogQuery) -> tuple[list[Course], int]:
        """Published courses matching the query, newest first, and how many match in all."""
        filters = [Course.status == CourseStatus.PUBLISHED]
        if query.category:
            filters.append(Course.category == query.category)
        if query.level:
            filters.append(Course.level == query.level)
        if query.q:
            filters.append(
                Course.search_vector.op("@@")(func.websearch_to_tsquery("english", query.q))
            )
        total = await self.session.scalar(select(func.count()).select_from(Course).where(*filters))
        rows = await self.session.scalars(
            select(Course)
            .where(*filters)
            .order_by(Course.published_at.desc(), Course.id.desc())
            .offset(query.offset)
            .limit(query.limit)
        )
        return list(rows), total or 0

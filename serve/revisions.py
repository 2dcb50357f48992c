"""The course structure service (in the ingress process): modules and lessons added, edited,
removed and reordered, on a draft and on a live (published) course alike.

A revision of a live course bumps `structure_version` and emits `course.updated` with the
change in its transaction; then the shards reload the course (and settle every commit computed
over the old structure), every learner's percentage is recomputed over the new structure in
PostgreSQL, progress snapshots and the course view are dropped and the content store is
re-indexed. Removed lessons are marked, never deleted, so no completion is lost: those of a
removed lesson stay and stop counting. A learner who had finished stays completed and keeps the
certificate; one whom the revision leaves finished (the lessons they lacked removed) completes
with `enrollment.completed`, as a last lesson would complete them, and the shards drop their
copies of the course's enrollments so the next read sees it.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from actors.shards import reload_course
from core.courses import (
    LessonCreate,
    LessonUpdate,
    LessonView,
    ModuleCreate,
    ModuleUpdate,
    check_manageable,
    publish_problems,
)
from core.errors import Conflict, NotFound, ValidationFailed
from core.events import (
    CourseChange,
    CourseUpdatedData,
    EnrollmentCompletedData,
    make_event,
)
from core.identity import Principal
from core.status import CourseStatus
from serve.courses import module_view
from serve.resources import Resources
from storage.content_store import open_content_store
from storage.course_cache import CourseCache
from storage.db import UnitOfWork
from storage.progress_cache import ProgressCache
from storage.repositories.course import Course, CourseRepository, Lesson, Module
from storage.repositories.enrollment import complete_finished, recompute_percentages
from workflows.courses.activities import index_content

T = TypeVar("T")
Change = Callable[[CourseRepository], Awaitable[tuple[T, CourseChange]]]


def lesson_view(lesson: Lesson) -> dict[str, Any]:
    view = LessonView.model_validate(lesson, from_attributes=True).model_dump(mode="json")
    return view | {"module_id": lesson.module_id, "content": lesson.content}


class Revisions:
    def __init__(self, resources: Resources) -> None:
        settings = self.settings = resources.settings
        self.db = resources.db
        self.cache = CourseCache(
            resources.redis, settings.course_cache_ttl_seconds, settings.catalog_cache_ttl_seconds
        )
        self.progress_cache = ProgressCache(resources.redis, settings.progress_cache_ttl_seconds)
        self.content = open_content_store(settings, resources.db)

    async def revise(self, principal: Principal, course_id: int, change: Change) -> T:
        """Run `change` on the course's structure; a live course then goes through the steps
        of the module docstring. The course row is locked, so revisions take turns."""
        async with self.db.unit_of_work() as uow:
            repo = CourseRepository(uow.session)
            course = await repo.get(course_id, for_update=True)
            if course is None:
                raise NotFound("Course not found")
            check_manageable(principal, course.instructor_id, course.status)
            if course.status in (CourseStatus.PUBLISHING, CourseStatus.ARCHIVED):
                raise Conflict(f"A {course.status} course cannot be changed")
            result, what = await change(repo)
            live = course.status == CourseStatus.PUBLISHED
            if live:
                await self.check_publishable(repo, course_id)
                await self.announce(uow, course, await repo.next_structure_version(course_id), what)
            await uow.commit()
            category = course.category
        if live:
            await self.propagate(course_id, category)
        return result

    async def check_publishable(self, repo: CourseRepository, course_id: int) -> None:
        """A live course keeps a lesson and questions in every quiz (a new module may be empty
        until its lessons are added); otherwise nothing of the revision is kept."""
        lessons = await repo.lessons(course_id)
        structure = [
            {
                "title": "course",
                "lessons": [{"title": x.title, "kind": x.kind, "quiz": x.quiz} for x in lessons],
            }
        ]
        problems = publish_problems(structure) if lessons else ["the course would have no lessons"]
        if problems:
            raise Conflict("A published course must keep lessons and quiz questions", problems)

    async def announce(
        self, uow: UnitOfWork, course: Course, version: int, change: CourseChange
    ) -> None:
        data = CourseUpdatedData(
            course_id=course.id,
            instructor_id=course.instructor_id,
            title=course.title,
            category=course.category,
            structure_version=version,
            change=change,
        )
        uow.emit(make_event("course.updated", str(course.id), data, source="courses"))

    async def propagate(self, course_id: int, category: str) -> None:
        await reload_course(self.settings, course_id)
        async with self.db.unit_of_work() as uow:
            enrollment_ids = await recompute_percentages(uow.session, course_id)
            at = datetime.now(UTC)
            for enrollment_id, student_id in await complete_finished(uow.session, course_id, at):
                data = EnrollmentCompletedData(
                    enrollment_id=enrollment_id,
                    student_id=student_id,
                    course_id=course_id,
                    completed_at=at,
                )
                uow.emit(make_event("enrollment.completed", str(enrollment_id), data, "courses"))
            await uow.commit()
        await reload_course(self.settings, course_id)
        await self.progress_cache.forget(enrollment_ids)
        await self.cache.invalidate(course_id, [category])
        await index_content(self.db, self.content, course_id)

    # Modules --------------------------------------------------------------------------------

    async def module(self, repo: CourseRepository, course_id: int, module_id: int) -> Module:
        module = await repo.get_module(course_id, module_id)
        if module is None:
            raise NotFound("Module not found")
        return module

    async def add_module(self, principal: Principal, course_id: int, body: ModuleCreate) -> dict:
        async def change(repo: CourseRepository):
            module = await repo.add_module(course_id, body.title, body.position)
            return module_view(module, []), CourseChange(action="module_added", module_id=module.id)

        return await self.revise(principal, course_id, change)

    async def update_module(
        self, principal: Principal, course_id: int, module_id: int, body: ModuleUpdate
    ) -> dict:
        async def change(repo: CourseRepository):
            module = await self.module(repo, course_id, module_id)
            fields = body.model_dump(exclude_unset=True, exclude_none=True)
            for name, value in fields.items():
                setattr(module, name, value)
            view = module_view(module, await repo.lessons(course_id))
            return view, CourseChange(action="module_edited", module_id=module_id, fields=[*fields])

        return await self.revise(principal, course_id, change)

    async def delete_module(self, principal: Principal, course_id: int, module_id: int) -> None:
        async def change(repo: CourseRepository):
            await self.module(repo, course_id, module_id)
            await repo.remove_module(module_id)
            return None, CourseChange(action="module_deleted", module_id=module_id)

        await self.revise(principal, course_id, change)

    async def order_modules(self, principal: Principal, course_id: int, ids: list[int]) -> list:
        async def change(repo: CourseRepository):
            modules = await repo.modules(course_id)
            if not await repo.reorder(modules, ids):
                raise ValidationFailed(
                    "Name every module of the course once",
                    [{"field": "ids", "message": "must be exactly the course's module ids"}],
                )
            lessons = await repo.lessons(course_id)
            views = [module_view(m, lessons) for m in sorted(modules, key=lambda m: m.position)]
            return views, CourseChange(action="modules_reordered", ids=ids)

        return await self.revise(principal, course_id, change)

    # Lessons --------------------------------------------------------------------------------

    async def lesson(
        self, repo: CourseRepository, course_id: int, module_id: int, lesson_id: int
    ) -> Lesson:
        lesson = await repo.get_lesson(course_id, module_id, lesson_id)
        if lesson is None:
            raise NotFound("Lesson not found")
        return lesson

    async def add_lesson(
        self, principal: Principal, course_id: int, module_id: int, body: LessonCreate
    ) -> dict:
        async def change(repo: CourseRepository):
            module = await self.module(repo, course_id, module_id)
            fields = body.model_dump(exclude={"quiz"})
            fields["quiz"] = body.quiz.model_dump() if body.quiz else None
            lesson = await repo.add_lesson(module, fields)
            what = CourseChange(action="lesson_added", module_id=module_id, lesson_id=lesson.id)
            return lesson_view(lesson), what

        return await self.revise(principal, course_id, change)

    async def update_lesson(
        self,
        principal: Principal,
        course_id: int,
        module_id: int,
        lesson_id: int,
        body: LessonUpdate,
    ) -> dict:
        async def change(repo: CourseRepository):
            lesson = await self.lesson(repo, course_id, module_id, lesson_id)
            fields = body.model_dump(exclude_unset=True, exclude_none=True)
            if "quiz" in fields and lesson.kind != "quiz":
                raise ValidationFailed(
                    "Only a quiz lesson has a quiz",
                    [{"field": "quiz", "message": f"the lesson is a {lesson.kind} lesson"}],
                )
            for name, value in fields.items():
                setattr(lesson, name, value)
            await repo.flush()
            what = CourseChange(
                action="lesson_edited", module_id=module_id, lesson_id=lesson_id, fields=[*fields]
            )
            return lesson_view(lesson), what

        return await self.revise(principal, course_id, change)

    async def delete_lesson(
        self, principal: Principal, course_id: int, module_id: int, lesson_id: int
    ) -> None:
        async def change(repo: CourseRepository):
            await self.lesson(repo, course_id, module_id, lesson_id)
            await repo.remove_lesson(lesson_id)
            what = CourseChange(action="lesson_deleted", module_id=module_id, lesson_id=lesson_id)
            return None, what

        await self.revise(principal, course_id, change)

    async def order_lessons(
        self, principal: Principal, course_id: int, module_id: int, ids: list[int]
    ) -> list:
        async def change(repo: CourseRepository):
            await self.module(repo, course_id, module_id)
            lessons = [x for x in await repo.lessons(course_id) if x.module_id == module_id]
            if not await repo.reorder(lessons, ids):
                raise ValidationFailed(
                    "Name every lesson of the module once",
                    [{"field": "ids", "message": "must be exactly the module's lesson ids"}],
                )
            views = [lesson_view(x) for x in sorted(lessons, key=lambda x: x.position)]
            return views, CourseChange(action="lessons_reordered", module_id=module_id, ids=ids)

        return await self.revise(principal, course_id, change)

"""The course workflows' activities: each one effect, safe to run twice (Temporal retries).

State changes are conditional updates (`publishing → published`, `publishing → draft`), so a
retried or late activity never undoes a later state; events go to the outbox in the state
change's transaction. Notices are the notification consumer's: these activities emit the events
(`course.published`, `course.archived`, `course.publish_failed`) it turns into them.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.chunks import chunk_text
from core.courses import publish_problems
from core.events import CourseData, PublishFailedData, make_event
from core.status import CourseStatus
from storage.content_store import ContentStore
from storage.db import Database
from storage.repositories.course import Course, CourseRepository
from storage.temporal import CourseRequest
from workflows.emit import emit_once

CourseChanged = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class PublishFailed:
    course_id: int
    workflow_id: str
    reason: str


def course_event(kind: str, course: Course):
    data = CourseData(
        course_id=course.id,
        instructor_id=course.instructor_id,
        title=course.title,
        category=course.category,
    )
    return make_event(f"course.{kind}", str(course.id), data, source="courses")


async def course_structure(db: Database, course_id: int) -> list[dict]:
    """The live modules in order, each with its live lessons (title, kind, quiz, content)."""
    async with db.unit_of_work() as uow:
        repo = CourseRepository(uow.session)
        modules = await repo.modules(course_id)
        lessons = await repo.lessons(course_id)
    return [
        {
            "title": module.title,
            "lessons": [
                {"title": x.title, "kind": x.kind, "quiz": x.quiz, "content": x.content}
                for x in lessons
                if x.module_id == module.id
            ],
        }
        for module in modules
    ]


async def index_content(db: Database, content: ContentStore, course_id: int) -> int:
    """Replace the course's chunks in the content store with those of its lessons and
    materials as they are now (publishing, and every revision of a live course)."""
    documents = []
    for module in await course_structure(db, course_id):
        for lesson in module["lessons"]:
            for n, text in enumerate(chunk_text(lesson["content"] or "")):
                documents.append(
                    {"source": "lesson", "title": lesson["title"], "n": n, "text": text}
                )
    async with db.unit_of_work() as uow:
        materials = await CourseRepository(uow.session).materials(course_id)
    for material in materials:
        for n, text in enumerate(chunk_text(material.text or "")):
            documents.append(
                {"source": "material", "title": material.filename, "n": n, "text": text}
            )
    return await content.replace_course(course_id, documents)


class CourseActivities:
    """`course_changed` tells the running system (course entities, caches) to reload a course."""

    def __init__(self, db: Database, content: ContentStore, course_changed: CourseChanged):
        self.db, self.content, self.course_changed = db, content, course_changed

    def all(self) -> list[Callable]:
        return [
            self.validate_course,
            self.process_content,
            self.update_search_index,
            self.mark_published,
            self.publish_event,
            self.revert_to_draft,
            self.remove_course_content,
            self.notify_publish_failed,
            self.mark_archived,
            self.notify_course_archived,
        ]

    async def structure(self, course_id: int) -> list[dict]:
        return await course_structure(self.db, course_id)

    @activity.defn(name="validate_course")
    async def validate_course(self, request: CourseRequest) -> None:
        async with self.db.unit_of_work() as uow:
            course = await CourseRepository(uow.session).get(request.course_id)
        if course is None or course.status != CourseStatus.PUBLISHING:
            state = course.status if course else "missing"
            raise ApplicationError(f"the course is {state}, not publishing", non_retryable=True)
        problems = publish_problems(await self.structure(request.course_id))
        if problems:
            raise ApplicationError("; ".join(problems), non_retryable=True)

    @activity.defn(name="process_content")
    async def process_content(self, request: CourseRequest) -> int:
        return await index_content(self.db, self.content, request.course_id)

    @activity.defn(name="update_search_index")
    async def update_search_index(self, request: CourseRequest) -> None:
        async with self.db.unit_of_work() as uow:
            await CourseRepository(uow.session).index_for_search(request.course_id)
            await uow.commit()

    @activity.defn(name="mark_published")
    async def mark_published(self, request: CourseRequest) -> None:
        async with self.db.unit_of_work() as uow:
            repo = CourseRepository(uow.session)
            now = datetime.now(UTC)
            moved = await repo.move_status(
                request.course_id,
                [CourseStatus.PUBLISHING],
                CourseStatus.PUBLISHED,
                published_at=now,
                publish_error=None,
            )
            if moved:
                uow.emit(course_event("published", await repo.get(request.course_id)))
                await uow.commit()

    @activity.defn(name="publish_event")
    async def publish_event(self, request: CourseRequest) -> None:
        """Make the publication visible: the course entity and caches reload. (`course.published`
        is in the outbox since mark_published; the instructor hears of it from there.)"""
        await self.course_changed(request.course_id)

    @activity.defn(name="revert_to_draft")
    async def revert_to_draft(self, failure: PublishFailed) -> None:
        async with self.db.unit_of_work() as uow:
            repo = CourseRepository(uow.session)
            await repo.move_status(
                failure.course_id,
                [CourseStatus.PUBLISHING],
                CourseStatus.DRAFT,
                publish_error=failure.reason,
            )
            await repo.clear_search_index(failure.course_id)
            await repo.record_publish_failure(
                failure.course_id, failure.workflow_id, failure.reason
            )
            await uow.commit()
        await self.course_changed(failure.course_id)

    @activity.defn(name="remove_course_content")
    async def remove_course_content(self, failure: PublishFailed) -> None:
        await self.content.delete_course(failure.course_id)

    @activity.defn(name="notify_publish_failed")
    async def notify_publish_failed(self, failure: PublishFailed) -> None:
        """`course.publish_failed` for the instructor's notice, once per workflow run."""
        run_id = activity.info().workflow_run_id
        async with self.db.unit_of_work() as uow:
            course = await CourseRepository(uow.session).get(failure.course_id)
            data = PublishFailedData(
                course_id=course.id,
                instructor_id=course.instructor_id,
                title=course.title,
                category=course.category,
                reason=failure.reason,
            )
            event = make_event("course.publish_failed", str(course.id), data, source="courses")
            cause = f"publish-failed:{failure.workflow_id}:{run_id}"
            await emit_once(uow, event, cause)
            await uow.commit()

    @activity.defn(name="mark_archived")
    async def mark_archived(self, request: CourseRequest) -> None:
        async with self.db.unit_of_work() as uow:
            repo = CourseRepository(uow.session)
            moved = await repo.move_status(
                request.course_id,
                [CourseStatus.DRAFT, CourseStatus.PUBLISHED],
                CourseStatus.ARCHIVED,
                archived_at=datetime.now(UTC),
            )
            if moved:
                uow.emit(course_event("archived", await repo.get(request.course_id)))
                await uow.commit()
        await self.course_changed(request.course_id)

    @activity.defn(name="notify_course_archived")
    async def notify_course_archived(self, request: CourseRequest) -> int:
        """Nothing: the students hear of it from `course.archived` (written by mark_archived).
        Kept registered because the archive workflow still runs this step."""
        return 0

"""The courses service: authoring, the catalog, materials, and starting the publishing and
archiving workflows. It runs in the ingress process; material uploads, whose parsing has another
resource profile, go to a deployment of their own (`MaterialsService`).

Only the gateway calls it, with a verified principal. Public views of published courses and
catalog pages come from Redis when cached (hits and misses are Ray metrics); drafts are read
from PostgreSQL and shown only to their owner and admins.
"""

import uuid
from typing import Any

from ray import serve
from ray.util.metrics import Counter

from actors.shards import reload_course
from core.courses import (
    CatalogQuery,
    CourseCreate,
    CourseUpdate,
    CourseView,
    LessonView,
    ModuleView,
    WorkflowAccepted,
    check_manageable,
    check_visible,
)
from core.enrollments import PageQuery, WaitlistEntry, WaitlistPage
from core.errors import Conflict, DependencyDown, Forbidden, NotFound, ValidationFailed
from core.events import CourseChange, CourseData, CourseUpdatedData, make_event
from core.identity import Principal, Role
from core.logs import configure_logging
from core.materials import accept_material
from core.settings import Settings
from core.status import CourseStatus
from serve.replica_grpc import bind_replica_grpc
from serve.resources import Resources
from storage.course_cache import CourseCache
from storage.db import UnitOfWork
from storage.extraction import extract_text
from storage.objects import ObjectStore
from storage.repositories.course import Course, CourseRepository, Lesson, Material, Module
from storage.repositories.enrollment import EnrollmentRepository

# Course fields the course entity admits by: changing them on a live course reloads it.
SEAT_RULES = frozenset({"enrollment_limit", "waitlist", "prerequisite_ids"})
CACHE_REQUESTS = Counter(
    "smartcourse_cache_requests", "Course and catalog cache lookups", ("cache", "result")
)


def course_view(
    course: Course, prerequisite_ids: list[int], modules: list[dict] | None = None
) -> dict[str, Any]:
    derived = {"prerequisite_ids", "modules"}
    fields = {name: getattr(course, name) for name in CourseView.model_fields.keys() - derived}
    view = CourseView(**fields, prerequisite_ids=prerequisite_ids, modules=modules)
    return view.model_dump(mode="json")


def module_view(module: Module, lessons: list[Lesson]) -> dict[str, Any]:
    own = [
        LessonView.model_validate(x, from_attributes=True)
        for x in lessons
        if x.module_id == module.id
    ]
    return ModuleView(
        id=module.id, title=module.title, position=module.position, lessons=own
    ).model_dump(mode="json")


class Courses:
    def __init__(self, resources: Resources) -> None:
        settings = self.settings = resources.settings
        self.db = resources.db
        self.cache = CourseCache(
            resources.redis,
            settings.course_cache_ttl_seconds,
            settings.catalog_cache_ttl_seconds,
        )
        self.objects = ObjectStore(settings)
        self._temporal = resources.temporal

    async def full_view(self, uow: UnitOfWork, course: Course) -> dict[str, Any]:
        repo = CourseRepository(uow.session)
        lessons = await repo.lessons(course.id)
        modules = [module_view(m, lessons) for m in await repo.modules(course.id)]
        return course_view(course, await repo.prerequisite_ids(course.id), modules)

    async def manageable(self, uow: UnitOfWork, principal: Principal, course_id: int) -> Course:
        course = await CourseRepository(uow.session).get(course_id, for_update=True)
        if course is None:
            raise NotFound("Course not found")
        check_manageable(principal, course.instructor_id, course.status)
        return course

    async def check_prerequisites(
        self, uow: UnitOfWork, principal: Principal, course_id: int | None, ids: list[int]
    ) -> None:
        if course_id in ids:
            raise ValidationFailed(
                "A course cannot require itself",
                [{"field": "prerequisite_ids", "message": "contains the course itself"}],
            )
        # Someone else's draft answers like a missing course, so ids reveal nothing.
        viewer = None if principal.is_admin else principal.user_id
        missing = set(ids) - await CourseRepository(uow.session).visible_courses(ids, viewer)
        if missing:
            raise ValidationFailed(
                "Unknown prerequisite courses",
                [{"field": "prerequisite_ids", "message": f"no such course: {sorted(missing)}"}],
            )

    async def create_course(self, principal: Principal, body: CourseCreate) -> dict[str, Any]:
        if principal.role not in (Role.INSTRUCTOR, Role.ADMIN):
            raise Forbidden("Only instructors create courses")
        async with self.db.unit_of_work() as uow:
            await self.check_prerequisites(uow, principal, None, body.prerequisite_ids)
            repo = CourseRepository(uow.session)
            course = await repo.add(
                principal.user_id, body.model_dump(exclude={"prerequisite_ids"})
            )
            await repo.set_prerequisites(course.id, body.prerequisite_ids)
            data = CourseData(
                course_id=course.id,
                instructor_id=course.instructor_id,
                title=course.title,
                category=course.category,
            )
            uow.emit(make_event("course.created", str(course.id), data, source="courses"))
            await uow.commit()
            return course_view(course, sorted(set(body.prerequisite_ids)), [])

    async def get_course(self, principal: Principal | None, course_id: int) -> str | dict[str, Any]:
        """The course's view: a cache hit as its stored JSON text, a miss as a dict."""
        cached = await self.cache.course(course_id)
        CACHE_REQUESTS.inc(tags={"cache": "course", "result": "miss" if cached is None else "hit"})
        if cached is not None:
            return cached
        async with self.db.unit_of_work() as uow:
            course = await CourseRepository(uow.session).get(course_id)
            if course is None:
                raise NotFound("Course not found")
            check_visible(principal, course.instructor_id, course.status)
            view = await self.full_view(uow, course)
        if view["status"] in (CourseStatus.PUBLISHED, CourseStatus.ARCHIVED):
            await self.cache.put_course(course_id, view)
        return view

    async def list_courses(self, query: CatalogQuery) -> str | dict[str, Any]:
        """A catalog page: a cache hit as its stored JSON text, a miss as a dict."""
        cached = await self.cache.catalog(query)
        CACHE_REQUESTS.inc(tags={"cache": "catalog", "result": "miss" if cached is None else "hit"})
        if cached is not None:
            return cached
        async with self.db.unit_of_work() as uow:
            repo = CourseRepository(uow.session)
            courses, total = await repo.catalog(query)
            prerequisites = await repo.prerequisites_of([c.id for c in courses])
            items = [course_view(c, sorted(prerequisites[c.id])) for c in courses]
        page = {"items": items, "page": query.page, "page_size": query.page_size, "total": total}
        await self.cache.put_catalog(query, page)
        return page

    async def update_course(
        self, principal: Principal, course_id: int, body: CourseUpdate
    ) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True, exclude={"prerequisite_ids"})
        if changes.get("waitlist", False) is None:
            del changes["waitlist"]  # not nullable: an explicit null keeps the setting
        async with self.db.unit_of_work() as uow:
            course = await self.manageable(uow, principal, course_id)
            if course.status in (CourseStatus.PUBLISHING, CourseStatus.ARCHIVED):
                raise Conflict(f"A {course.status} course cannot be changed")
            if (
                course.status == CourseStatus.PUBLISHED
                and "enrollment_limit" in changes
                and (changes["enrollment_limit"] or 0) < course.enrolled_count
            ):
                raise Conflict("The enrollment limit is below the students already enrolled")
            repo = CourseRepository(uow.session)
            categories = {course.category, changes.get("category", course.category)}
            if body.prerequisite_ids is not None:
                await self.check_prerequisites(uow, principal, course_id, body.prerequisite_ids)
                await repo.set_prerequisites(course_id, body.prerequisite_ids)
            for name, value in changes.items():
                setattr(course, name, value)
            await repo.touch(course_id)
            data = CourseUpdatedData(
                course_id=course.id,
                instructor_id=course.instructor_id,
                title=course.title,
                category=course.category,
                change=CourseChange(action="details_edited", fields=sorted(changes)),
            )
            uow.emit(make_event("course.updated", str(course.id), data, source="courses"))
            await uow.commit()
            view = await self.full_view(uow, course)
        await self.cache.invalidate(course_id, categories)
        if view["status"] == CourseStatus.PUBLISHED and SEAT_RULES & body.model_fields_set:
            # The course entity admits by these; it reloads them before the next admission.
            await reload_course(self.settings, course_id)
        return view

    async def waitlist(
        self, principal: Principal, course_id: int, query: PageQuery
    ) -> dict[str, Any]:
        """The course's queue, head first (owner and admins)."""
        async with self.db.unit_of_work() as uow:
            course = await CourseRepository(uow.session).get(course_id)
            if course is None:
                raise NotFound("Course not found")
            check_manageable(principal, course.instructor_id, course.status)
            rows, total = await EnrollmentRepository(uow.session).waitlist_page(
                course_id, query.page, query.page_size
            )
        first = (query.page - 1) * query.page_size + 1
        items = [
            WaitlistEntry(
                enrollment_id=row.id,
                student_id=row.student_id,
                position=first + n,
                since=row.enrolled_at,
            )
            for n, row in enumerate(rows)
        ]
        page = WaitlistPage(items=items, page=query.page, page_size=query.page_size, total=total)
        return page.model_dump(mode="json")

    async def check_material_upload(self, principal: Principal, course_id: int) -> None:
        """404/403/409 unless the caller may add materials to the course; the gateway asks
        before it reads an upload, so nobody makes the service parse files for another's
        course."""
        async with self.db.unit_of_work() as uow:
            course = await self.manageable(uow, principal, course_id)
            if course.status == CourseStatus.ARCHIVED:
                raise Conflict("An archived course cannot be changed")

    async def add_material(
        self, principal: Principal, course_id: int, filename: str | None, data: bytes
    ) -> dict[str, Any]:
        await self.check_material_upload(principal, course_id)
        if len(data) > self.settings.material_max_bytes:
            raise ValidationFailed(
                "The file is too large",
                [{"field": "file", "message": f"over {self.settings.material_max_bytes} bytes"}],
            )
        accepted = accept_material(filename, data)
        text = extract_text(data, accepted.content_type)
        key = f"courses/{course_id}/materials/{uuid.uuid4().hex}.{accepted.extension}"
        fields = {
            "filename": accepted.filename,
            "content_type": accepted.content_type,
            "size": len(data),
            "object_key": key,
            "text": text,
        }
        async with self.db.unit_of_work() as uow:
            await self.manageable(uow, principal, course_id)
            # The row first (flushed, not committed), then the object, then the commit: a
            # refused row writes no object, and a failed upload or commit deletes the object.
            material = await CourseRepository(uow.session).add_material(course_id, fields)
            stored = False
            try:
                await self.objects.put(key, data, accepted.content_type)
                stored = True
                await uow.commit()
            except BaseException:
                if stored:
                    await self.objects.delete(key)
                raise
            return self.material_view(material)

    def material_view(self, material: Material) -> dict[str, Any]:
        url = self.objects.presigned_get_url(material.object_key)
        return {
            "id": material.id,
            "filename": material.filename,
            "content_type": material.content_type,
            "size": material.size,
            "url": url,
        }

    async def publish(self, principal: Principal, course_id: int) -> dict[str, Any]:
        """202 at once; a second click while it runs answers the same workflow."""
        async with self.db.unit_of_work() as uow:
            course = await self.manageable(uow, principal, course_id)
            if course.status not in (CourseStatus.DRAFT, CourseStatus.PUBLISHING):
                raise Conflict(f"The course is already {course.status}")
            await CourseRepository(uow.session).move_status(
                course_id, [CourseStatus.DRAFT], CourseStatus.PUBLISHING, publish_error=None
            )
            await uow.commit()
        try:
            workflow_id = await self._temporal.start_publishing(course_id)
        except DependencyDown:
            async with self.db.unit_of_work() as uow:
                await CourseRepository(uow.session).move_status(
                    course_id, [CourseStatus.PUBLISHING], CourseStatus.DRAFT
                )
                await uow.commit()
            raise
        return WorkflowAccepted(workflow_id=workflow_id).model_dump()

    async def archive(self, principal: Principal, course_id: int) -> dict[str, Any]:
        async with self.db.unit_of_work() as uow:
            course = await self.manageable(uow, principal, course_id)
            if course.status == CourseStatus.PUBLISHING:
                raise Conflict("The course is being published; archive it afterwards")
        workflow_id = await self._temporal.start_archive(course_id)
        return WorkflowAccepted(workflow_id=workflow_id).model_dump()


@serve.deployment(name="materials")
class MaterialsService:
    """Material uploads (up to `material_max_bytes`, PDFs parsed for their text) in replicas of
    their own, so a large upload's memory and CPU do not stall the ingress's requests."""

    def __init__(self, settings: Settings) -> None:
        configure_logging(settings.log_level)
        bind_replica_grpc(settings.bind_host)
        self.courses = Courses(Resources.open(settings))

    async def add_material(
        self, principal: Principal, course_id: int, filename: str | None, data: bytes
    ) -> dict[str, Any]:
        return await self.courses.add_material(principal, course_id, filename, data)

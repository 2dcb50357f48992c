"""Course authoring and the catalog: thin routes that validate and call the courses service."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile, status

from core.courses import (
    CatalogQuery,
    CourseCreate,
    CoursePage,
    CourseUpdate,
    CourseView,
    LessonCreate,
    MaterialView,
    ModuleCreate,
    ModuleUpdate,
    ModuleView,
    WorkflowAccepted,
)
from core.enrollments import PageQuery, WaitlistPage
from core.identity import Principal
from gateway.auth import current_principal, optional_principal
from gateway.context import GatewayContext, context

router = APIRouter(tags=["courses"])
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Caller = Annotated[Principal, Depends(current_principal)]
Context = Annotated[GatewayContext, Depends(context)]


def courses(ctx: GatewayContext) -> Any:
    return ctx.services["courses"]


def cached_or_model(answer: str | dict) -> Any:
    """A cache hit is the stored JSON text and goes back as it is, with no model round trip;
    a miss is a dict that FastAPI validates against the route's response model."""
    if isinstance(answer, str):
        return Response(answer, media_type="application/json")
    return answer


@router.get("/courses", response_model=CoursePage)
async def list_courses(
    query: Annotated[CatalogQuery, Query()],
    ctx: Context,
    _: Annotated[Principal | None, Depends(optional_principal)],
) -> Any:
    return cached_or_model(await courses(ctx).list_courses(query))


@router.post("/courses", response_model=CourseView, status_code=status.HTTP_201_CREATED)
async def create_course(body: CourseCreate, principal: Caller, ctx: Context) -> dict:
    return await courses(ctx).create_course(principal, body)


@router.get("/courses/{course_id}", response_model=CourseView)
async def get_course(
    course_id: Id,
    ctx: Context,
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Any:
    return cached_or_model(await courses(ctx).get_course(principal, course_id))


@router.put("/courses/{course_id}", response_model=CourseView)
async def update_course(course_id: Id, body: CourseUpdate, principal: Caller, ctx: Context) -> dict:
    return await courses(ctx).update_course(principal, course_id, body)


@router.get("/courses/{course_id}/waitlist", response_model=WaitlistPage)
async def course_waitlist(
    course_id: Id, query: Annotated[PageQuery, Query()], principal: Caller, ctx: Context
) -> dict:
    return await courses(ctx).waitlist(principal, course_id, query)


@router.delete(
    "/courses/{course_id}", response_model=WorkflowAccepted, status_code=status.HTTP_202_ACCEPTED
)
async def archive_course(course_id: Id, principal: Caller, ctx: Context) -> dict:
    return await courses(ctx).archive(principal, course_id)


@router.post(
    "/courses/{course_id}/publish",
    response_model=WorkflowAccepted,
    status_code=status.HTTP_202_ACCEPTED,
)
async def publish_course(course_id: Id, principal: Caller, ctx: Context) -> dict:
    return await courses(ctx).publish(principal, course_id)


@router.post(
    "/courses/{course_id}/modules", response_model=ModuleView, status_code=status.HTTP_201_CREATED
)
async def add_module(course_id: Id, body: ModuleCreate, principal: Caller, ctx: Context) -> dict:
    return await courses(ctx).add_module(principal, course_id, body)


@router.put("/courses/{course_id}/modules/{module_id}", response_model=ModuleView)
async def update_module(
    course_id: Id, module_id: Id, body: ModuleUpdate, principal: Caller, ctx: Context
) -> dict:
    return await courses(ctx).update_module(principal, course_id, module_id, body)


@router.post("/courses/{course_id}/modules/{module_id}/lessons", status_code=201)
async def add_lesson(
    course_id: Id, module_id: Id, body: LessonCreate, principal: Caller, ctx: Context
) -> dict:
    return await courses(ctx).add_lesson(principal, course_id, module_id, body)


@router.post(
    "/courses/{course_id}/materials",
    response_model=MaterialView,
    status_code=status.HTTP_201_CREATED,
)
async def upload_material(
    course_id: Id, file: Annotated[UploadFile, File()], principal: Caller, ctx: Context
) -> dict:
    data = await file.read()
    return await ctx.materials.add_material.remote(principal, course_id, file.filename, data)

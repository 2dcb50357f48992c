"""Course authoring and the catalog: thin routes that validate and call the courses service."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from core.courses import (
    CatalogQuery,
    CourseCreate,
    CoursePage,
    CourseUpdate,
    CourseView,
    LessonCreate,
    LessonUpdate,
    MaterialView,
    ModuleCreate,
    ModuleUpdate,
    ModuleView,
    OrderRequest,
    WorkflowAccepted,
)
from core.enrollments import PageQuery, WaitlistPage
from core.errors import BadRequest, ValidationFailed
from core.identity import Principal
from gateway.auth import current_principal, optional_principal
from gateway.context import GatewayContext, context
from serve.courses import Courses
from serve.revisions import Revisions

router = APIRouter(tags=["courses"])
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Caller = Annotated[Principal, Depends(current_principal)]
Context = Annotated[GatewayContext, Depends(context)]


MATERIAL_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        }
    },
}
NO_FILE = [{"field": "file", "message": "a file is required"}]


async def material_file(request: Request) -> UploadFile:
    """The upload's one file, read only after the caller was authorized."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ValidationFailed("The material must be sent as multipart/form-data", NO_FILE)
    try:
        form = await request.form(max_files=1, max_fields=10)
    except (MultiPartException, HTTPException, ValueError) as malformed:
        raise BadRequest("The multipart body is malformed") from malformed
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise ValidationFailed("A file is required", NO_FILE)
    return file


def courses(ctx: GatewayContext) -> Courses:
    return ctx.services.courses


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


def structure(ctx: GatewayContext) -> Revisions:
    return ctx.services.structure


@router.post(
    "/courses/{course_id}/modules", response_model=ModuleView, status_code=status.HTTP_201_CREATED
)
async def add_module(course_id: Id, body: ModuleCreate, principal: Caller, ctx: Context) -> dict:
    return await structure(ctx).add_module(principal, course_id, body)


# Declared before /modules/{module_id} routes so the literal segment is matched first.
@router.post("/courses/{course_id}/modules/order", response_model=list[ModuleView])
async def order_modules(course_id: Id, body: OrderRequest, principal: Caller, ctx: Context) -> list:
    return await structure(ctx).order_modules(principal, course_id, body.ids)


@router.put("/courses/{course_id}/modules/{module_id}", response_model=ModuleView)
async def update_module(
    course_id: Id, module_id: Id, body: ModuleUpdate, principal: Caller, ctx: Context
) -> dict:
    return await structure(ctx).update_module(principal, course_id, module_id, body)


@router.delete("/courses/{course_id}/modules/{module_id}", status_code=204)
async def delete_module(course_id: Id, module_id: Id, principal: Caller, ctx: Context) -> Response:
    await structure(ctx).delete_module(principal, course_id, module_id)
    return Response(status_code=204)


@router.post("/courses/{course_id}/modules/{module_id}/lessons", status_code=201)
async def add_lesson(
    course_id: Id, module_id: Id, body: LessonCreate, principal: Caller, ctx: Context
) -> dict:
    return await structure(ctx).add_lesson(principal, course_id, module_id, body)


@router.post("/courses/{course_id}/modules/{module_id}/lessons/order")
async def order_lessons(
    course_id: Id, module_id: Id, body: OrderRequest, principal: Caller, ctx: Context
) -> list:
    return await structure(ctx).order_lessons(principal, course_id, module_id, body.ids)


@router.put("/courses/{course_id}/modules/{module_id}/lessons/{lesson_id}")
async def update_lesson(
    course_id: Id, module_id: Id, lesson_id: Id, body: LessonUpdate, principal: Caller, ctx: Context
) -> dict:
    return await structure(ctx).update_lesson(principal, course_id, module_id, lesson_id, body)


@router.delete("/courses/{course_id}/modules/{module_id}/lessons/{lesson_id}", status_code=204)
async def delete_lesson(
    course_id: Id, module_id: Id, lesson_id: Id, principal: Caller, ctx: Context
) -> Response:
    await structure(ctx).delete_lesson(principal, course_id, module_id, lesson_id)
    return Response(status_code=204)


@router.post(
    "/courses/{course_id}/materials",
    response_model=MaterialView,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": MATERIAL_BODY},
)
async def upload_material(course_id: Id, request: Request, principal: Caller, ctx: Context) -> dict:
    # No File() parameter: FastAPI would read and parse the whole body before the checks.
    await courses(ctx).check_material_upload(principal, course_id)
    file = await material_file(request)
    data = await file.read()
    return await ctx.materials.add_material.remote(principal, course_id, file.filename, data)

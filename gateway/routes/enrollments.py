"""Enrollment, progress and notification routes. Lesson completions and quiz submissions go
from here straight to the student's shard actor through the replica's batching client."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status
from pydantic import BaseModel, Field

from actors.client import ShardClient
from actors.ops import Complete, SubmitQuiz
from core.enrollments import (
    EnrollmentAccepted,
    EnrollmentList,
    EnrollmentRequest,
    EnrollmentView,
    QuizOutcome,
    QuizSubmission,
)
from core.errors import NotFound
from core.identity import Principal, Role
from core.pages import Page, PageQuery
from core.progress import ProgressView
from core.text import Line
from gateway.auth import current_principal
from gateway.context import GatewayContext, context

router = APIRouter(tags=["enrollments"])
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Caller = Annotated[Principal, Depends(current_principal)]
Context = Annotated[GatewayContext, Depends(context)]


def shards(ctx: GatewayContext) -> ShardClient:
    return ctx.services.enrollments.shards


def student_of(principal: Principal) -> int:
    """Progress belongs to students; anyone else has no enrollment to write to."""
    if principal.role is not Role.STUDENT:
        raise NotFound("You are not enrolled in this lesson's course")
    return principal.user_id


@router.post(
    "/enrollments",
    response_model=EnrollmentAccepted,
    status_code=202,
    # API.md: the same student and course again answers the existing enrollment.
    responses={200: {"model": EnrollmentAccepted, "description": "The existing enrollment"}},
)
async def enroll(
    body: EnrollmentRequest,
    response: Response,
    principal: Caller,
    ctx: Context,
    idempotency_key: Annotated[Line | None, Header(max_length=200)] = None,
) -> Any:
    answer = await ctx.services.enrollments.enroll(principal, body.course_id, idempotency_key)
    if not answer.pop("created"):
        response.status_code = status.HTTP_200_OK
    return answer


@router.get("/enrollments/my-courses", response_model=EnrollmentList)
async def my_courses(query: Annotated[PageQuery, Query()], principal: Caller, ctx: Context) -> dict:
    return await ctx.services.enrollments.my_courses(principal, query)


@router.get("/enrollments/{enrollment_id}", response_model=EnrollmentView)
async def get_enrollment(enrollment_id: Id, principal: Caller, ctx: Context) -> dict:
    return await ctx.services.enrollments.get(principal, enrollment_id)


@router.delete("/enrollments/{enrollment_id}", response_model=EnrollmentView)
async def drop_enrollment(enrollment_id: Id, principal: Caller, ctx: Context) -> dict:
    return await ctx.services.enrollments.drop(principal, enrollment_id)


@router.get("/enrollments/{enrollment_id}/progress", response_model=ProgressView)
async def get_progress(enrollment_id: Id, principal: Caller, ctx: Context) -> dict:
    return await ctx.services.enrollments.progress(principal, enrollment_id)


@router.post("/lessons/{lesson_id}/complete", response_model=ProgressView)
async def complete_lesson(lesson_id: Id, principal: Caller, ctx: Context) -> dict:
    return await shards(ctx).call(Complete(student_of(principal), lesson_id))


@router.post("/quizzes/{lesson_id}/submit", response_model=QuizOutcome)
async def submit_quiz(lesson_id: Id, body: QuizSubmission, principal: Caller, ctx: Context) -> dict:
    return await shards(ctx).call(SubmitQuiz(student_of(principal), lesson_id, tuple(body.answers)))


class NotificationQuery(PageQuery):
    unread: bool = False


class NotificationView(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    read: bool
    created_at: datetime


class NotificationList(Page[NotificationView]):
    unread: int = Field(description="the caller's unread notifications in all")


@router.get("/notifications", response_model=NotificationList)
async def list_notifications(
    query: Annotated[NotificationQuery, Query()], principal: Caller, ctx: Context
) -> dict:
    return await ctx.services.notifications.list(principal, query.unread, query)


@router.post("/notifications/{notification_id}/read", status_code=204)
async def read_notification(notification_id: Id, principal: Caller, ctx: Context) -> Response:
    await ctx.services.notifications.mark_read(principal, notification_id)
    return Response(status_code=204)

"""Analytics routes: thin calls into the analytics service."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from core.identity import Principal
from gateway.auth import current_principal
from gateway.context import GatewayContext, context

router = APIRouter(tags=["analytics"])
Caller = Annotated[Principal, Depends(current_principal)]
Context = Annotated[GatewayContext, Depends(context)]
CourseId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/analytics/overview")
async def overview(principal: Caller, ctx: Context) -> dict:
    return await ctx.services.analytics.overview(principal)


@router.get("/analytics/enrollments")
async def enrollments(
    principal: Caller,
    ctx: Context,
    granularity: Annotated[Literal["day", "week", "month"], Query()] = "day",
) -> dict:
    return await ctx.services.analytics.enrollments(principal, granularity)


@router.get("/analytics/courses/popular")
async def popular(_: Caller, ctx: Context, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
    return await ctx.services.analytics.popular(limit)


@router.get("/analytics/courses/{course_id}")
async def course(course_id: CourseId, principal: Caller, ctx: Context) -> dict:
    return await ctx.services.analytics.course(principal, course_id)


@router.get("/analytics/courses/{course_id}/daily")
async def course_daily(
    course_id: CourseId,
    principal: Caller,
    ctx: Context,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict:
    """The course's counters per day over the last `days` days (owner/admin)."""
    return await ctx.services.analytics.course_daily(principal, course_id, days)


@router.post("/analytics/courses/{course_id}/report", status_code=202)
async def request_report(course_id: CourseId, principal: Caller, ctx: Context) -> dict:
    """Queue a CSV + PDF report of the course on `report_queue` (owner/admin)."""
    return await ctx.services.analytics.request_report(principal, course_id)


@router.get("/analytics/reports/{report_id}")
async def report(report_id: uuid.UUID, principal: Caller, ctx: Context) -> dict:
    """The report's status and, once done, presigned download URLs (requester/admin)."""
    return await ctx.services.analytics.report(principal, report_id)

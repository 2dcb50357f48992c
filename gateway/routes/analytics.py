"""Analytics routes: thin calls into the analytics service."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from core.identity import Principal
from gateway.auth import current_principal
from gateway.context import GatewayContext, context

router = APIRouter(tags=["analytics"])
Caller = Annotated[Principal, Depends(current_principal)]
Context = Annotated[GatewayContext, Depends(context)]


@router.get("/analytics/overview")
async def overview(principal: Caller, ctx: Context) -> dict:
    return await ctx.services["analytics"].overview(principal)


@router.get("/analytics/enrollments")
async def enrollments(
    principal: Caller,
    ctx: Context,
    granularity: Annotated[Literal["day", "week", "month"], Query()] = "day",
) -> dict:
    return await ctx.services["analytics"].enrollments(principal, granularity)


@router.get("/analytics/courses/popular")
async def popular(_: Caller, ctx: Context, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
    return await ctx.services["analytics"].popular(limit)


@router.get("/analytics/courses/{course_id}")
async def course(
    course_id: Annotated[int, Path(ge=1, le=2**63 - 1)], principal: Caller, ctx: Context
) -> dict:
    return await ctx.services["analytics"].course(principal, course_id)

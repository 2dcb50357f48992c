"""Instructor tools: a course's roster (paged, sortable) and its gradebook as a streamed CSV."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from core.identity import Principal
from core.roster import RosterPage, RosterQuery
from gateway.auth import current_principal
from gateway.context import GatewayContext, context

router = APIRouter(tags=["instructor tools"])
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Caller = Annotated[Principal, Depends(current_principal)]
Context = Annotated[GatewayContext, Depends(context)]


@router.get("/courses/{course_id}/students", response_model=RosterPage)
async def roster(
    course_id: Id, query: Annotated[RosterQuery, Query()], principal: Caller, ctx: Context
) -> dict:
    return await ctx.services.roster.students(principal, course_id, query)


@router.get(
    "/courses/{course_id}/gradebook.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def gradebook(course_id: Id, principal: Caller, ctx: Context) -> StreamingResponse:
    chunks = await ctx.services.roster.gradebook(principal, course_id)
    return StreamingResponse(
        chunks,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="course-{course_id}-gradebook.csv"'},
    )

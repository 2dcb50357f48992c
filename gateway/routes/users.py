"""GET/PUT /users/{user_id} and GET/PUT /instructors/{user_id}."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from core.identity import Principal
from core.users import InstructorUpdate, InstructorView, PublicProfile, UserUpdate, UserView
from gateway.auth import current_principal
from gateway.context import GatewayContext, context

router = APIRouter(tags=["users"])

# Ids are BIGINT; anything outside that range cannot exist and must not reach the database.
UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/users/{user_id}", response_model=UserView | PublicProfile)
async def get_user(
    user_id: UserId,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    return await ctx.services.users.get_user(principal, user_id)


@router.put("/users/{user_id}", response_model=UserView)
async def update_user(
    user_id: UserId,
    body: UserUpdate,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    return await ctx.services.users.update_user(principal, user_id, body)


@router.get("/users/{user_id}/export")
async def export_user(
    user_id: UserId,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    """Everything held about the user: profile, enrollments with progress, quiz attempts,
    certificates, notifications and sessions (self or admin)."""
    return await ctx.services.data_rights.export(principal, user_id)


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(
    user_id: UserId,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> Response:
    """Erase the user's personal data and end their sessions (self or admin)."""
    await ctx.services.data_rights.erase(principal, user_id)
    return Response(status_code=204)


@router.get("/instructors/{user_id}", response_model=InstructorView)
async def get_instructor(
    user_id: UserId,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    return await ctx.services.users.get_instructor(principal, user_id)


@router.put("/instructors/{user_id}", response_model=InstructorView)
async def update_instructor(
    user_id: UserId,
    body: InstructorUpdate,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    return await ctx.services.users.update_instructor(principal, user_id, body)

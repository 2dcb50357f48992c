"""GET/PUT /users/{user_id} and GET/PUT /instructors/{user_id}."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from core.identity import Principal
from core.users import InstructorUpdate, InstructorView, UserUpdate, UserView
from gateway.auth import current_principal
from gateway.context import GatewayContext, context

router = APIRouter(tags=["users"])

# Ids are BIGINT; anything outside that range cannot exist and must not reach the database.
UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/users/{user_id}", response_model=UserView)
async def get_user(
    user_id: UserId,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    return await ctx.services["users"].get_user(principal, user_id)


@router.put("/users/{user_id}", response_model=UserView)
async def update_user(
    user_id: UserId,
    body: UserUpdate,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    return await ctx.services["users"].update_user(principal, user_id, body)


@router.get("/instructors/{user_id}", response_model=InstructorView)
async def get_instructor(
    user_id: UserId,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    return await ctx.services["users"].get_instructor(principal, user_id)


@router.put("/instructors/{user_id}", response_model=InstructorView)
async def update_instructor(
    user_id: UserId,
    body: InstructorUpdate,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    return await ctx.services["users"].update_instructor(principal, user_id, body)

"""GET/PUT /users/{user_id}/notification-preferences: per kind and channel, self or admin."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from core.identity import Principal
from core.notices import Preferences, PreferencesUpdate
from gateway.auth import current_principal
from gateway.context import GatewayContext, context

router = APIRouter(tags=["notifications"])
UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Caller = Annotated[Principal, Depends(current_principal)]
Context = Annotated[GatewayContext, Depends(context)]


@router.get("/users/{user_id}/notification-preferences")
async def get_preferences(user_id: UserId, principal: Caller, ctx: Context) -> Preferences:
    return await ctx.services.notifications.preferences(principal, user_id)


@router.put("/users/{user_id}/notification-preferences")
async def put_preferences(
    user_id: UserId, body: PreferencesUpdate, principal: Caller, ctx: Context
) -> Preferences:
    return await ctx.services.notifications.set_preferences(principal, user_id, body)

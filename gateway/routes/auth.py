"""POST /auth/register, /auth/login (JSON or the OAuth2 password form), /auth/refresh,
/auth/logout and GET /auth/me."""

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from core.errors import BadRequest
from core.identity import Principal
from core.users import LoginAttempt, LoginRequest, RefreshRequest, Registration, TokenPair, UserView
from gateway.auth import client_ip, current_principal, rate_limit
from gateway.context import GatewayContext, context

router = APIRouter(prefix="/auth", tags=["auth"])

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
LOGIN_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": LoginRequest.model_json_schema()},
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["username", "password"],
                "properties": {
                    "grant_type": {"type": "string", "enum": ["password"]},
                    "username": {"type": "string", "description": "the email"},
                    "password": {"type": "string", "format": "password"},
                },
            }
        },
    },
}


async def login_request(request: Request) -> LoginRequest:
    """The credentials from a JSON body or from the OAuth2 password form (/docs Authorize)."""
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()
        data: Any = {
            "email": form.get("username", form.get("email")),
            "password": form.get("password"),
        }
    else:
        try:
            data = await request.json()
        except (ValueError, RecursionError) as malformed:
            raise BadRequest("The request body is not valid JSON") from malformed
    try:
        return LoginRequest.model_validate(data)
    except ValidationError as invalid:
        raise RequestValidationError(
            invalid.errors(include_url=False, include_input=False)
        ) from None


@router.post(
    "/register", status_code=201, response_model=UserView, dependencies=[Depends(rate_limit)]
)
async def register(body: Registration, ctx: GatewayContext = Depends(context)) -> dict:
    return await ctx.services.users.register(body)


@router.post(
    "/login",
    response_model=TokenPair,
    dependencies=[Depends(rate_limit)],
    openapi_extra={"requestBody": LOGIN_BODY},
)
async def login(request: Request, ctx: GatewayContext = Depends(context)) -> dict:
    credentials = await login_request(request)
    attempt = LoginAttempt(
        email=credentials.email,
        password=credentials.password,
        client_ip=client_ip(request, ctx.settings),
    )
    return await ctx.services.users.login(attempt)


@router.post("/refresh", response_model=TokenPair, dependencies=[Depends(rate_limit)])
async def refresh(body: RefreshRequest, ctx: GatewayContext = Depends(context)) -> dict:
    return await ctx.services.users.refresh(body)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(
    body: RefreshRequest,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> Response:
    await ctx.services.users.logout(principal, body)
    return Response(status_code=204)


@router.get("/me", response_model=UserView)
async def me(
    principal: Principal = Depends(current_principal), ctx: GatewayContext = Depends(context)
) -> dict:
    return await ctx.services.users.get_user(principal, principal.user_id)

"""Authentication at the gateway, the only place JWTs are verified, and the per-caller rate limit.

Routes declare who may call them with one dependency:
- `current_principal`: a valid bearer token is required (401 otherwise) → `Principal`;
- `optional_principal`: anonymous callers are welcome, a token when present must be valid
  → `Principal | None`;
- `rate_limit`: public routes with no principal at all (register, login, refresh, verify).
Each of them also applies the rate limit (100/min per user and route, per client IP when
anonymous) and, for tokens, the session-revocation check, in a single Redis round trip. Use
exactly one of them per route, so a request is counted once.
"""

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from core.errors import RateLimited, Unauthorized
from core.identity import Principal
from core.settings import Settings
from core.tokens import verify_access_token
from gateway.context import GatewayContext, context

# tokenUrl makes /docs "Authorize" post the OAuth2 password form to /auth/login.
bearer = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False)


@lru_cache(maxsize=8)
def proxy_networks(proxies: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(proxy, strict=False) for proxy in proxies)


def is_address_in(address: str, proxies: tuple[str, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in proxy_networks(proxies))


def client_ip(request: Request, settings: Settings) -> str:
    """The connection's peer; behind a trusted proxy, the address that proxy saw (the last
    X-Forwarded-For entry: every earlier one is whatever the client sent)."""
    peer = request.client.host if request.client else "unknown"
    if not is_address_in(peer, tuple(settings.trusted_proxies)):
        return peer
    # HAProxy adds a header line of its own after the client's: read every line, in order.
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if settings.trust_forwarded_for and len(hops) > 1:
        hops.pop()
    if not hops or not is_address_in(hops[-1], ("0.0.0.0/0", "::/0")):
        return peer
    return hops[-1]


def endpoint_of(request: Request) -> str:
    """The route template (e.g. `/users/{user_id}`), never the raw path."""
    route = request.scope.get("route")
    return getattr(route, "path", None) or "unmatched"


async def admit(
    request: Request, ctx: GatewayContext, subject: str, session_id: str | None = None
) -> None:
    admission = await ctx.gate.admit(subject, endpoint_of(request), session_id)
    if admission.session_revoked:
        raise Unauthorized("The session has ended; log in again")
    if not admission.allowed:
        raise RateLimited("Too many requests; slow down", retry_after=admission.retry_after)


async def rate_limit(request: Request, ctx: GatewayContext = Depends(context)) -> None:
    """Rate-limit an anonymous route by client IP."""
    await admit(request, ctx, f"ip:{client_ip(request, ctx.settings)}")


async def current_principal(
    request: Request,
    token: str | None = Depends(bearer),
    ctx: GatewayContext = Depends(context),
) -> Principal:
    """The verified caller; 401 without a valid, unrevoked bearer token."""
    if not token:
        raise Unauthorized("A bearer token is required")
    claims = verify_access_token(ctx.settings.require_jwt_secret(), token)
    await admit(request, ctx, str(claims.user_id), claims.session_id)
    return claims.principal


async def optional_principal(
    request: Request,
    token: str | None = Depends(bearer),
    ctx: GatewayContext = Depends(context),
) -> Principal | None:
    """The verified caller, or None for an anonymous request; a bad token is still a 401."""
    if not token:
        await rate_limit(request, ctx)
        return None
    return await current_principal(request, token, ctx)

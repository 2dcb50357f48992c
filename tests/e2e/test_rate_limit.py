"""Rate limiting over real HTTP: 100 requests a minute per user and route, then 429 with
Retry-After; anonymous callers are keyed by client IP."""

import asyncio

import httpx

from storage.keyvalue import connect_redis
from storage.ratelimit import rate_limit_key
from tests.conftest import System
from tests.e2e.accounts import new_email, sign_up
from tests.e2e.test_gateway import assert_envelope


async def test_the_101st_request_in_a_minute_is_429(client: httpx.AsyncClient) -> None:
    account, bystander = await sign_up(client), await sign_up(client)
    responses = await asyncio.gather(
        *(client.get("/auth/me", headers=account.headers) for _ in range(100))
    )
    assert [r.status_code for r in responses] == [200] * 100
    refused = await client.get("/auth/me", headers=account.headers)
    assert_envelope(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Only that user on that route is limited.
    assert (await client.get("/auth/me", headers=bystander.headers)).status_code == 200
    other_route = await client.get(f"/users/{account.id}", headers=account.headers)
    assert other_route.status_code == 200


async def test_keys_follow_the_seed_with_route_templates(
    client: httpx.AsyncClient, system: System
) -> None:
    redis_client = connect_redis(system.settings)
    account = await sign_up(client)
    await client.get(f"/users/{account.id}", headers=account.headers)
    assert await redis_client.exists(rate_limit_key(str(account.id), "/users/{user_id}"))
    body = {"email": new_email(), "password": "x", "full_name": "A"}
    await client.post("/auth/register", json=body)
    anonymous = [key async for key in redis_client.scan_iter("rate_limit:ip:*:/auth/register")]
    assert anonymous

"""The HAProxy edge over real sockets: the client address comes from the connection (a forged
X-Forwarded-For changes nothing), malformed and slow requests are cut off by HAProxy, there is
no `Server` banner, the admin socket is private, and Serve's fallback proxy (HAProxy's backup
server) listens on the stack's own port."""

import socket
import stat
import tempfile
import time
from pathlib import Path

import httpx

from storage.keyvalue import connect_redis
from storage.login_throttle import ip_key
from storage.ratelimit import rate_limit_key
from tests.conftest import System
from tests.e2e.catalog import poll
from tests.e2e.test_gateway import assert_envelope


def raw_exchange(system: System, request: bytes, within: float = 10.0) -> bytes:
    """Send raw bytes to the gateway port and read the answer until HAProxy closes."""
    deadline = time.monotonic() + within
    with socket.create_connection(("127.0.0.1", system.settings.http_port), timeout=within) as s:
        s.sendall(request)
        chunks = []
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


async def test_forged_forwarded_for_does_not_reset_the_anonymous_limit(
    client: httpx.AsyncClient, system: System
) -> None:
    limit = system.settings.rate_limit_per_minute
    statuses = []
    for n in range(limit + 1):
        forged = {"X-Forwarded-For": f"10.0.{n // 250}.{n % 250 + 1}"}
        response = await client.post(
            "/auth/refresh", json={"refresh_token": "not-a-token"}, headers=forged
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert_envelope(response, 429, "rate_limited")
            break
    # Every forged address was the same client: the limit held.
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}
    await connect_redis(system.settings).delete(rate_limit_key("ip:127.0.0.1", "/auth/refresh"))


def test_malformed_request_is_refused_by_haproxy(system: System) -> None:
    # HAProxy 2.8 answers parse errors and timeouts from its H1 layer, which ignores
    # `errorfile` (haproxy/haproxy#3032, fixed in 3.2): status only, the body is HAProxy's.
    raw = raw_exchange(system, b"GARBAGE\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400")


def test_slow_client_is_cut_off_with_408(system: System) -> None:
    started = time.monotonic()
    raw = raw_exchange(system, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", within=15)
    assert raw.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < system.settings.haproxy_timeout_http_request_seconds + 5


async def test_no_server_banner(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert "server" not in response.headers


def test_admin_socket_is_private(system: System) -> None:
    sockets = list(
        Path(tempfile.gettempdir()).glob(f"sc-haproxy-{system.settings.http_port}/*/admin.sock")
    )
    assert sockets
    for path in sockets:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


async def test_password_spraying_hits_the_address_budget_despite_forged_headers(
    client: httpx.AsyncClient, system: System
) -> None:
    budget = system.settings.login_failures_per_ip
    redis = connect_redis(system.settings)
    # The loopback address's budget is this test's: earlier tests' failed logins count in it.
    await redis.delete(ip_key("127.0.0.1"))
    statuses = []
    try:
        for n in range(budget + 1):
            forged = {"X-Forwarded-For": f"10.1.{n // 250}.{n % 250 + 1}"}
            body = {"email": f"victim-{n}@example.com", "password": "Winter2026!"}
            response = await client.post("/auth/login", json=body, headers=forged)
            statuses.append(response.status_code)
    finally:
        # Give the address its budget back, for the tests that log in after this one.
        await redis.delete(ip_key("127.0.0.1"))
    assert set(statuses[:budget]) == {401}
    refused = assert_envelope(response, 429, "rate_limited")
    assert "address" in refused["message"]
    assert int(response.headers["retry-after"]) <= system.settings.login_ip_window_seconds


async def test_the_fallback_proxy_listens_on_the_stacks_own_port(system: System) -> None:
    """Ray's default port, 8500, is the same for every stack on a host, and only one process
    can listen on it."""
    url = f"http://127.0.0.1:{system.settings.serve_fallback_http_port}/-/healthz"

    async def answers() -> bool:
        try:
            async with httpx.AsyncClient(timeout=5) as fallback:
                return (await fallback.get(url)).status_code == 200
        except httpx.TransportError:
            return False

    assert await poll(answers)

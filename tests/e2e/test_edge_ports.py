"""Nothing of the local stack is open beyond this host, and Ray's job API wants the token."""

import httpx
import psutil

from serve import runtime
from tests.conftest import System

WILDCARDS = {"0.0.0.0", "::", ""}  # noqa: S104 (what the test looks for)
# The one socket that cannot move: Serve (2.60) starts every replica's inter-deployment gRPC
# server on "[::]:0", written into `Replica._on_initialized` (ray/serve/_private/replica.py)
# with no setting to change it. Ray's token interceptor guards it, as token auth is on.
SERVE_REPLICA = "ray::ServeReplica:"


def stack_processes() -> list[psutil.Process]:
    """This test process and everything it started (Ray, HAProxy, the servers)."""
    me = psutil.Process()
    return [me, *me.children(recursive=True)]


def is_serve_replica_grpc(ip: str, pid: int) -> bool:
    return ip == "::" and psutil.Process(pid).name().startswith(SERVE_REPLICA)


def test_no_listening_socket_of_the_stack_is_on_a_wildcard_address(system: System) -> None:
    assert system.settings.ray_auth_mode == "token"  # what guards the replicas' gRPC port
    pids = {process.pid for process in stack_processes()}
    open_wide = sorted(
        (conn.laddr.ip, conn.laddr.port, conn.pid)
        for conn in psutil.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
        and conn.pid in pids
        and conn.laddr.ip in WILDCARDS
        and not is_serve_replica_grpc(conn.laddr.ip, conn.pid)
    )
    commands = {pid: " ".join(psutil.Process(pid).cmdline()[:3]) for _, _, pid in open_wide}
    assert not open_wide, "\n".join(f"{ip}:{port} {commands[pid]}" for ip, port, pid in open_wide)


async def test_ray_job_api_refuses_a_request_without_the_token(system: System) -> None:
    dashboard = f"http://127.0.0.1:{system.settings.ray_dashboard_port}"
    async with httpx.AsyncClient(base_url=dashboard, timeout=10) as http:
        anonymous = await http.get("/api/jobs/")
        assert anonymous.status_code in (401, 403), anonymous.text
        token = runtime.ray_auth_token(system.settings)
        authorized = await http.get("/api/jobs/", headers={"Authorization": f"Bearer {token}"})
        assert authorized.status_code == 200, authorized.text

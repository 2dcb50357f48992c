"""Nothing of the local stack is open beyond this host, and Ray's job API wants the token."""

import httpx
import psutil

from serve import runtime
from tests.conftest import System

WILDCARDS = {"0.0.0.0", "::", ""}  # noqa: S104 (what the test looks for)


def stack_processes() -> list[psutil.Process]:
    """This test process and everything it started (Ray, HAProxy, the servers)."""
    me = psutil.Process()
    return [me, *me.children(recursive=True)]


def test_no_listening_socket_of_the_stack_is_on_a_wildcard_address(system: System) -> None:
    # Serve replicas' inter-deployment gRPC servers included (serve/replica_grpc.py).
    pids = {process.pid for process in stack_processes()}
    open_wide = sorted(
        (conn.laddr.ip, conn.laddr.port, conn.pid)
        for conn in psutil.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids and conn.laddr.ip in WILDCARDS
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

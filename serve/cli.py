"""The `smartcourse` command: `up` runs the whole system locally, `down` stops it, `migrate`
brings the database schema to head, `create-admin` makes an administrator, `job run NAME`
runs a batch analytics job on Ray (see `jobs`)."""

import argparse
import asyncio
import getpass
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import ray

from core.logs import adopt, configure_logging
from core.settings import Settings, get_settings
from jobs.runner import add_job_arguments, run_from_arguments
from serve import runtime
from serve.stack import LocalStack, MissingDependencies
from storage import migrate
from storage.health import probe_all

log = logging.getLogger("smartcourse")
PID_FILE = "up.pid"
T = TypeVar("T")


def ensure_local_secret(settings: Settings) -> Settings:
    """Give a fresh checkout a random JWT secret in the git-ignored `.smartcourse/.env`."""
    if settings.jwt_secret is not None:
        return settings
    env_file = Path(settings.data_dir) / ".env"
    env_file.parent.mkdir(parents=True, exist_ok=True)
    with env_file.open("a") as out:
        out.write(f"SMARTCOURSE_JWT_SECRET={secrets.token_urlsafe(48)}\n")
    env_file.chmod(0o600)
    get_settings.cache_clear()
    return get_settings()


class Steps:
    """Numbered progress lines with timings, so a slow step is visible while it runs."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.perf_counter()

    def run(self, title: str, action: Callable[[], T]) -> T:
        self.done += 1
        print(f"[{self.done}/{self.total}] {title} ...", flush=True)
        began = time.perf_counter()
        result = action()
        print(f"      done in {time.perf_counter() - began:.1f}s", flush=True)
        return result

    def note(self, line: str) -> None:
        print(f"      {line}", flush=True)


def dashboard_token(settings: Settings) -> str:
    if settings.ray_auth_mode != "token":
        return ""
    return (
        f"  (token {runtime.ray_auth_token(settings)}, in {runtime.ray_auth_token_path(settings)})"
    )


def urls(settings: Settings) -> list[str]:
    base = settings.public_base_url
    return [
        f"API docs        {base}/docs",
        f"API             {base}/  (health {base}/healthz, readiness {base}/readyz)",
        f"Metrics         {base}/metrics",
        f"Ray dashboard   http://127.0.0.1:{settings.ray_dashboard_port}{dashboard_token(settings)}",
        f"Temporal UI     http://127.0.0.1:{settings.temporal_ui_port}",
    ]


def wait_for_stop() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def wait_for_servers(settings: Settings, deadline_seconds: float = 120.0) -> None:
    """On a cluster the servers are someone else's: wait until every one answers."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        down = {k: v for k, v in asyncio.run(probe_all(settings)).items() if v is not None}
        if not down:
            return
        if time.monotonic() > deadline:
            raise MissingDependencies(f"not reachable: {down}")
        time.sleep(1.0)


def up(settings: Settings, local_servers: bool = True) -> int:
    settings = ensure_local_secret(settings)
    pid_file = Path(settings.data_dir) / PID_FILE
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    # A restarted child is news for whoever watches this terminal: one line each.
    stack = LocalStack(settings, report=lambda line: print(line, flush=True))
    steps = Steps(4)
    try:
        if local_servers:
            steps.run(
                "local servers (PostgreSQL, Redis, RabbitMQ, broker, Temporal, S3)",
                lambda: stack.start(progress=steps.note),
            )
        else:
            steps.run("waiting for the configured servers", lambda: wait_for_servers(settings))
        steps.run("database migrations", lambda: migrate.upgrade(settings))
        steps.run("Ray", lambda: runtime.start_ray(settings))
        steps.run("Serve application", lambda: runtime.deploy(settings))
        pid_file.write_text(str(os.getpid()))
        print("\n".join(["", *urls(settings), ""]), flush=True)
        print(
            f"SmartCourse is ready in {time.perf_counter() - steps.started:.1f}s. "
            "Ctrl-C (or `smartcourse down`) stops it.",
            flush=True,
        )
        wait_for_stop()
        print("stopping ...", flush=True)
        return 0
    except MissingDependencies as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    finally:
        runtime.shutdown(settings)
        stack.stop()
        # Last, so `smartcourse down` returns only once everything has stopped.
        pid_file.unlink(missing_ok=True)


def down(settings: Settings) -> int:
    """Stop a running `smartcourse up` (the same as Ctrl-C in its terminal)."""
    pid_file = Path(settings.data_dir) / PID_FILE
    if not pid_file.exists():
        print("smartcourse is not running (no .smartcourse/up.pid)")
        return 0
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    print("stopped" if not pid_file.exists() else f"process {pid} did not stop within 60s")
    return 0 if not pid_file.exists() else 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="smartcourse", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("up", help="run the whole system until Ctrl-C")
    run.add_argument(
        "--no-local-servers",
        dest="local_servers",
        action="store_false",
        help="use the servers the settings name (a cluster) instead of starting local ones",
    )
    commands.add_parser("down", help="stop a running `smartcourse up`")
    commands.add_parser("migrate", help="create the database if needed and migrate it to head")
    admin = commands.add_parser(
        "create-admin",
        help="create an administrator (password from SMARTCOURSE_ADMIN_PASSWORD or a prompt)",
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--full-name", required=True)
    job = commands.add_parser("job", help="batch analytics jobs on Ray Data")
    job_commands = job.add_subparsers(dest="job_command", required=True)
    add_job_arguments(job_commands.add_parser("run", help="run one job, write its report"))
    return root


def migrate_only(settings: Settings) -> int:
    migrate.upgrade(settings)
    return 0


def create_admin(settings: Settings, email: str, full_name: str) -> int:
    """Never from argv: a password there is visible to every user of the machine (`ps`)."""
    from core.errors import DomainError
    from serve.users import create_admin as add_admin

    password = os.environ.get("SMARTCOURSE_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    try:
        user = asyncio.run(add_admin(settings, email, full_name, password))
    except DomainError as error:
        print(f"error: {error.message} {error.details or ''}".rstrip(), file=sys.stderr)
        return 1
    print(f"created admin id={user['id']} email={user['email']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = get_settings()
    up_log = Path(settings.data_dir) / "logs" / "smartcourse.log"
    configure_logging(settings.log_level, up_log if args.command == "up" else None)
    if args.command == "up":
        adopt("ray", "ray.serve")
        return up(settings, local_servers=args.local_servers)
    if args.command == "create-admin":
        return create_admin(settings, args.email, args.full_name)
    if args.command == "job":
        # The job's driver joins the stack's Ray, which wants its token; a driver that is
        # already connected (a test's) keeps the config it connected with.
        if not ray.is_initialized():
            runtime.ray_token_environment(settings)
        return run_from_arguments(args, settings)
    commands: dict[str, Callable[[Settings], int]] = {"down": down, "migrate": migrate_only}
    return commands[args.command](settings)


if __name__ == "__main__":
    sys.exit(main())

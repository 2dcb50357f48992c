"""Child server processes of the local stack: started in their own process group, logged to a
file, stopped whole (SIGTERM, then SIGKILL), and waited for with a deadline."""

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from core.settings import host_port

log = logging.getLogger(__name__)


class ManagedProcess:
    def __init__(self, name: str, argv: list[str], log_dir: Path) -> None:
        self.name, self.argv = name, argv
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - argv is ours, never user input
                self.argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        log.info("event=process_started name=%s pid=%s", self.name, self.process.pid)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace_seconds: float = 5.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        log.info("event=process_stopped name=%s pid=%s", self.name, self.process.pid)
        self.process = None

    def log_tail(self, lines: int = 15) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(
    ready: Callable[[], bool], deadline_seconds: float, what: str, process: ManagedProcess
) -> None:
    """Poll `ready` until it holds; a clear error naming `what` (with its log) otherwise."""
    deadline = time.monotonic() + deadline_seconds
    while not ready():
        if process.process is not None and not process.running():
            raise RuntimeError(f"{what} exited during start-up:\n{process.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{what} did not answer within {deadline_seconds:.0f}s:\n{process.log_tail()}"
            )
        time.sleep(0.2)


def port_open(address: str, default_port: int) -> bool:
    host, port = host_port(address, default_port)
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False

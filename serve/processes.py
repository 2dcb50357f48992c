"""Child server processes of the local stack: started in their own process group, logged to a
file, stopped whole (SIGTERM, then SIGKILL), waited for with a deadline, and restarted by the
`Supervisor` when one exits on its own."""

import logging
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from core.logs import FILE_ONLY
from core.settings import host_port

log = logging.getLogger(__name__)


def niced(argv: list[str], niceness: int) -> list[str]:
    """The command run at `niceness` (`Settings.background_niceness`) through nice(1), which
    then execs it (same pid, same command line)."""
    return ["nice", "-n", str(niceness), *argv] if niceness else argv


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
        log.info(
            "event=process_started name=%s pid=%s", self.name, self.process.pid, extra=FILE_ONLY
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited(self) -> int | None:
        """The exit code of a child that ended on its own; None while it runs or once stopped
        (`stop()` forgets the process, so the supervisor leaves it alone)."""
        return None if self.process is None else self.process.poll()

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
        log.info(
            "event=process_stopped name=%s pid=%s", self.name, self.process.pid, extra=FILE_ONLY
        )
        self.process = None

    def log_tail(self, lines: int = 15) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


# Below the kernel's ephemeral range (32768-60999): a port handed out by `bind(0)` is one any
# outgoing connection (Ray's, the tests') may take before the server we start binds it.
LISTEN_PORTS = range(20000, 32768)


def free_port() -> int:
    """A loopback port that nothing listens on now, outside the ephemeral range."""
    while True:
        port = secrets.choice(LISTEN_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


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


class Child(Protocol):
    """What the supervisor needs of a child: ManagedProcess, or the in-process SMTP sink."""

    name: str

    def exited(self) -> int | str | None: ...

    def start(self) -> None: ...


@dataclass
class Backoff:
    """Restart delays of one child: doubled per exit that came soon after its start."""

    initial: float
    maximum: float
    delay: float = 0.0
    started_at: float = field(default_factory=time.monotonic)
    due: float | None = None

    def schedule(self, now: float) -> float:
        ran = now - self.started_at
        self.delay = self.initial if ran > self.maximum or not self.delay else self.delay * 2
        self.delay = min(self.delay, self.maximum)
        self.due = now + self.delay
        return self.delay


class Supervisor:
    """Watches the children a stack started and restarts one that exits, with capped backoff;
    each restart is one line on `report` naming the child and its exit code. `stop()` first,
    then stop the children, so a child being stopped is never restarted."""

    POLL_SECONDS = 0.2

    def __init__(
        self,
        children: Callable[[], dict[str, Child]],
        report: Callable[[str], None],
        initial_seconds: float,
        max_seconds: float,
        restarted: Callable[[str], None] = lambda name: None,
    ) -> None:
        self.children, self.report, self.restarted = children, report, restarted
        self.initial, self.maximum = initial_seconds, max_seconds
        self.backoff: dict[str, Backoff] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            return
        self.stopped.clear()
        self.thread = threading.Thread(target=self.watch, name="supervisor", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread is not None and self.thread.is_alive():
            self.thread.join()

    def watch(self) -> None:
        while not self.stopped.wait(self.POLL_SECONDS):
            with self.lock:
                for name, child in list(self.children().items()):
                    self.check(name, child, time.monotonic())

    def check(self, name: str, child: Child, now: float) -> None:
        backoff = self.backoff.setdefault(name, Backoff(self.initial, self.maximum))
        if backoff.due is None:
            code = child.exited()
            if code is None:
                return
            delay = backoff.schedule(now)
            self.report(f"supervisor: {name} exited (code {code}); restarting in {delay:.1f}s")
            log.warning("event=child_exited name=%s code=%s restart_in=%.1f", name, code, delay)
        if now < backoff.due:
            return
        backoff.due, backoff.started_at = None, now
        try:
            child.start()
            self.restarted(name)
        except Exception as error:
            # Seen as another exit on the next round, so the delay grows.
            log.exception("event=child_restart_failed name=%s", name)
            self.report(f"supervisor: {name} failed to restart: {error}")
            return
        log.info("event=child_restarted name=%s", name)

"""The Celery worker process of the local stack and the test fixtures: one `celery worker` child
consuming the seed's queues, configured by the exact settings it was given (passed as SMARTCOURSE_*
environment variables, never on the command line, where `ps` would show secrets)."""

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

from pydantic import SecretStr

from core.settings import Settings
from serve.processes import ManagedProcess, niced, wait_until
from workflows.celery_app import QUEUES, celery_for, queue_name


def settings_environment(settings: Settings) -> dict[str, str]:
    """SMARTCOURSE_* variables that make a child process read back these very settings."""
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list | dict):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[f"SMARTCOURSE_{name.upper()}"] = str(value)
    return env


class CeleryWorker(ManagedProcess):
    """A worker child with its own process group; `kill()` is the SIGKILL of fault tests."""

    def __init__(self, settings: Settings, log_dir: Path, name: str = "celery") -> None:
        self.settings = settings
        self.hostname = f"{name}-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        queues = ",".join(queue_name(settings, queue) for queue in QUEUES)
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workflows.celery_app",
            "worker",
            "-Q",
            queues,
            "--pool",
            settings.celery_pool,
            "--concurrency",
            str(settings.celery_worker_concurrency),
            "--loglevel",
            "INFO",
            "-n",
            self.hostname,
            # Mingle and gossip talk to other workers; ours need nothing from them.
            "--without-mingle",
            "--without-gossip",
        ]
        super().__init__(name, niced(command, settings.background_niceness), log_dir)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **settings_environment(self.settings)}
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - argv is ours, never user input
                self.argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def answers_ping(self) -> bool:
        control = celery_for(self.settings).control
        return bool(control.ping(destination=[self.hostname], timeout=0.5))

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children) mid-work."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def start_celery_worker(
    settings: Settings, log_dir: Path | None = None, name: str = "celery"
) -> CeleryWorker:
    """Start a worker on the settings' broker and queues; returns once it answers a ping.
    `stop()` shuts it down warm (running tasks finish, up to the grace period)."""
    worker = CeleryWorker(settings, log_dir or Path(settings.data_dir) / "logs", name)
    worker.start()
    wait_until(worker.answers_ping, 60, f"celery worker {worker.hostname}", worker)
    return worker

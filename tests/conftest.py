"""Session fixtures: real servers, started once per test session, torn down to what was there.

Layers, each started only when a test asks for it:
- `settings`: a test configuration on free ports with its own database and Redis db.
- `database`: that database, migrated (dropped at the end).
- `servers`: the broker, Temporal and S3 as child processes (PostgreSQL, Redis and RabbitMQ
  are reused from the machine).
- `system`: Ray + the Serve application; e2e tests call `system.base_url` over real HTTP.
"""

import asyncio
import os
import secrets
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis

from core.settings import Settings, get_settings
from serve import runtime
from serve.processes import free_port
from serve.stack import LocalStack
from storage import migrate
from storage.db import Database
from storage.dsn import plain_dsn
from tests.otlp import Collector
from tests.redis_child import RedisChild


def test_environment(data_dir: Path) -> dict[str, str]:
    run = f"{os.getpid()}"
    http_port = free_port()
    return {
        "SMARTCOURSE_ENVIRONMENT": "test",
        "SMARTCOURSE_DATA_DIR": str(data_dir),
        "SMARTCOURSE_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/smartcourse_test_{run}",
        "SMARTCOURSE_REDIS_URL": f"redis://127.0.0.1:6379/{1 + os.getpid() % 15}",
        "SMARTCOURSE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        "SMARTCOURSE_KAFKA_TOPIC_PREFIX": f"t{run}.",
        "SMARTCOURSE_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "SMARTCOURSE_TEMPORAL_UI_PORT": str(free_port()),
        "SMARTCOURSE_TEMPORAL_TASK_QUEUE": f"smartcourse-test-{run}",
        "SMARTCOURSE_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "SMARTCOURSE_SMTP_PORT": str(free_port()),
        "SMARTCOURSE_HTTP_PORT": str(http_port),
        "SMARTCOURSE_PUBLIC_BASE_URL": f"http://127.0.0.1:{http_port}",
        "SMARTCOURSE_RAY_DASHBOARD_PORT": str(free_port()),
        "SMARTCOURSE_RAY_METRICS_EXPORT_PORT": str(free_port()),
        "SMARTCOURSE_HAPROXY_STATS_PORT": str(free_port()),
        "SMARTCOURSE_HAPROXY_METRICS_PORT": str(free_port()),
        "SMARTCOURSE_SERVE_FALLBACK_HTTP_PORT": str(free_port()),
        "SMARTCOURSE_SERVE_FALLBACK_GRPC_PORT": str(free_port()),
        "SMARTCOURSE_JWT_SECRET": secrets.token_urlsafe(32),
        # Tests exercise the bcrypt path, not its cost; cost 12 is the production default.
        "SMARTCOURSE_BCRYPT_ROUNDS": "4",
        "SMARTCOURSE_RAY_NUM_CPUS": "4",
        "SMARTCOURSE_RAY_AUTH_MODE": "token",
        # Short enough that the slow-client test waits seconds, long for any real client.
        "SMARTCOURSE_HAPROXY_TIMEOUT_HTTP_REQUEST_SECONDS": "3",
    }


@pytest.fixture(scope="session")
def traces() -> Iterator[Collector]:
    """Where the system under test exports its spans (OTLP/HTTP, as to Jaeger)."""
    with Collector() as collector:
        yield collector


@pytest.fixture(scope="session")
def own_redis(request: pytest.FixtureRequest) -> Iterator[RedisChild | None]:
    """A Redis of the session's own when the fault suite runs (and redis-server is installed),
    so its fault can be a real restart; otherwise the machine's, in a db of this run's."""
    child = RedisChild.installed(free_port())
    faults = any(item.get_closest_marker("faults") for item in request.session.items)
    if child is None or not faults:
        yield None
        return
    child.start()
    yield child
    child.kill()


@pytest.fixture(scope="session")
def settings(
    tmp_path_factory: pytest.TempPathFactory, traces: Collector, own_redis: RedisChild | None
) -> Iterator[Settings]:
    env = test_environment(tmp_path_factory.mktemp("smartcourse"))
    env["SMARTCOURSE_OTLP_ENDPOINT"] = traces.endpoint
    if own_redis is not None:
        env["SMARTCOURSE_REDIS_URL"] = own_redis.url
    # More shards than the default (the benchmarks keep that one), so the multi-node test has
    # some for every node and the tests cross more shard boundaries.
    env["SMARTCOURSE_SHARD_COUNT"] = "4"
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    get_settings.cache_clear()
    yield get_settings()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Settings]:
    """The test database at the newest migration, with an empty Redis db beside it (cached
    rows of an earlier run's database would otherwise match this run's ids); both are cleared
    when the session ends."""
    cache = redis.Redis.from_url(settings.redis_url)
    cache.flushdb()
    asyncio.run(migrate.drop_database(settings.database_url))
    migrate.upgrade(settings)
    yield settings
    asyncio.run(migrate.drop_database(settings.database_url))
    cache.flushdb()
    cache.close()


@pytest.fixture
def scratch(settings: Settings) -> Iterator[Settings]:
    """Settings naming a database of the test's own (created by `migrate.upgrade`), dropped
    afterwards: no running system's actors touch it."""
    url = settings.database_url.rsplit("/", 1)[0] + f"/smartcourse_scratch_{os.getpid()}"
    yield settings.model_copy(update={"database_url": url})
    asyncio.run(migrate.drop_database(url))


@pytest.fixture(scope="session")
async def db(database: Settings) -> AsyncIterator[Database]:
    handle = Database(database)
    yield handle
    await handle.dispose()


@pytest.fixture(scope="session")
def servers(settings: Settings) -> Iterator[LocalStack]:
    stack = LocalStack(settings, ephemeral=True, headless=True)
    stack.start()
    yield stack
    stack.stop()


@contextmanager
def frozen(servers: LocalStack, name: str) -> Iterator[None]:
    """The server `name` stops answering for the block (SIGSTOP, then SIGCONT) and keeps its
    state: a restart of the local broker would wipe the log it keeps in memory."""
    process = servers.started[name].process
    assert process is not None
    os.killpg(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGCONT)


async def terminate_backends(settings: Settings) -> None:
    """Every other server process of the settings' database ends, as in a PostgreSQL restart:
    the pooled connections of every process using it are dead."""
    conn = await asyncpg.connect(plain_dsn(settings.database_url))
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()


@dataclass
class System:
    settings: Settings
    base_url: str


@pytest.fixture(scope="session")
def system(database: Settings, servers: LocalStack) -> Iterator[System]:
    """The whole system: Ray, the Serve application and its workers, against real servers."""
    runtime.start_ray(database)
    try:
        runtime.deploy(database)
        yield System(settings=database, base_url=f"http://127.0.0.1:{database.http_port}")
    finally:
        runtime.shutdown(database)


@pytest.fixture(scope="session")
async def client(system: System) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as http:
        yield http

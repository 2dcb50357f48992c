"""The content store's two implementations behave the same: PostgreSQL JSONB (the default) and
MongoDB through motor, here against a real SecantusDB server (MongoDB wire protocol)."""

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.settings import Settings
from serve.processes import ManagedProcess, port_open, wait_until
from storage.content_store import ContentStore, MongoContentStore, PostgresContentStore
from storage.db import Database
from tests.conftest import free_port


@pytest.fixture(scope="module")
def mongo_settings(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    port = free_port()
    server = ManagedProcess(
        "secantusdb",
        [
            str(Path(sys.executable).with_name("secantusd-py")),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            ":memory:",
            "--log-level",
            "WARNING",
        ],
        tmp_path_factory.mktemp("secantus"),
    )
    server.start()
    try:
        wait_until(lambda: port_open(f"127.0.0.1:{port}", port), 60, "secantusdb", server)
        yield settings.model_copy(
            update={"mongo_url": f"mongodb://127.0.0.1:{port}", "mongo_database": "content_test"}
        )
    finally:
        server.stop()


@pytest.fixture(params=["postgres", "mongo"])
async def store(request: pytest.FixtureRequest, db: Database) -> AsyncIterator[ContentStore]:
    if request.param == "postgres":
        chosen: ContentStore = PostgresContentStore(db)
    else:
        chosen = MongoContentStore(request.getfixturevalue("mongo_settings"))
    yield chosen
    await chosen.close()


async def test_replace_keeps_order_and_drops_the_old_documents(store: ContentStore) -> None:
    course_id, other = 900_001, 900_002
    await store.replace_course(other, [{"text": "elsewhere"}])
    first = [{"n": n, "text": f"chunk {n}"} for n in range(5)]
    assert await store.replace_course(course_id, first) == 5
    assert await store.documents(course_id) == first
    second = [{"n": 0, "text": "rewritten"}]
    assert await store.replace_course(course_id, second) == 1
    assert await store.documents(course_id) == second
    assert await store.documents(other) == [{"text": "elsewhere"}]


async def test_delete_course_removes_only_that_course(store: ContentStore) -> None:
    course_id, other = 900_003, 900_004
    await store.replace_course(course_id, [{"text": "a"}, {"text": "b"}])
    await store.replace_course(other, [{"text": "kept"}])
    assert await store.delete_course(course_id) == 2
    assert await store.documents(course_id) == []
    assert await store.delete_course(course_id) == 0
    assert await store.documents(other) == [{"text": "kept"}]

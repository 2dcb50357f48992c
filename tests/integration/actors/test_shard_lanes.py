"""The shard client's lanes: a progress read and an admission do not wait for a completion's
group commit."""

import asyncio

import httpx
from sqlalchemy import select, text

from actors.client import ShardClient
from actors.ops import Admit, Complete, ReadProgress
from storage.db import Database
from storage.models.enrollment import Enrollment
from tests.conftest import System
from tests.e2e.accounts import account, many_accounts
from tests.e2e.catalog import active_enrollment, lesson_ids, poll, published_course

# A backend of ours waiting for a row lock: the shard's group commit, held by the test.
COMMIT_WAITING = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE wait_event_type = 'Lock' AND query LIKE '%lesson_completions%'"
)


async def test_a_read_and_an_admission_are_answered_while_a_commit_waits(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, modules=1, lessons=2)
    student, newcomer = await many_accounts(system.settings, 2)
    enrollment_id = (await active_enrollment(client, student, course["id"]))["id"]
    shards = ShardClient(system.settings)
    read = ReadProgress(student.id, enrollment_id)
    await shards.call(read)  # the student's entity is in the shard

    # The watcher reads the activity view in a transaction of its own each time: PostgreSQL
    # keeps one snapshot of it per transaction.
    async with db.unit_of_work() as holder, db.autocommit() as watcher:
        # Hold the enrollment's row: the completion's group commit waits for it.
        lock = select(Enrollment.id).where(Enrollment.id == enrollment_id).with_for_update()
        await holder.session.execute(lock)
        completing = asyncio.create_task(shards.call(Complete(student.id, lesson_ids(course)[0])))

        async def commit_waits() -> bool:
            return (await watcher.scalar(COMMIT_WAITING)) > 0

        await poll(commit_waits, within=10)
        # In one lane with the completion, each would wait for the row as well.
        answered = await asyncio.wait_for(shards.call(read), timeout=5)
        assert answered["id"] == enrollment_id
        admitted = await asyncio.wait_for(shards.call(Admit(course["id"], newcomer.id)), 5)
        assert admitted["student_id"] == newcomer.id
        assert not completing.done()
        await holder.session.rollback()
    await asyncio.wait_for(completing, timeout=10)

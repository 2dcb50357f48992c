"""The shard actors under a crash: writers record what was acknowledged, a shard is killed in
the middle of 1,000 concurrent completions, and every acknowledged completion is then in
PostgreSQL exactly once, with progress reads agreeing with the database."""

import asyncio

import httpx
import ray
from ray.util.state import get_actor as actor_state
from sqlalchemy import select

from actors.client import ShardClient
from actors.ops import Complete, ReadProgress
from actors.placement import shard_index, shard_name
from actors.shards import NAMESPACE
from core.errors import DependencyDown
from storage.db import Database
from storage.models.enrollment import Enrollment, LessonCompletion
from tests.conftest import System
from tests.e2e.accounts import account, many_accounts
from tests.e2e.catalog import active_enrollment, lesson_ids, published_course


async def test_no_acknowledged_completion_is_lost_when_a_shard_dies(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, modules=4, lessons=5)
    lessons = lesson_ids(course)
    students = await many_accounts(system.settings, 50)
    enrollments = {s.id: (await active_enrollment(client, s, course["id"]))["id"] for s in students}
    shards = ShardClient(system.settings)
    acknowledged: set[tuple[int, int]] = set()
    refused = 0
    midway = asyncio.Event()

    async def complete(student_id: int, lesson_id: int) -> None:
        nonlocal refused
        try:
            await shards.call(Complete(student_id, lesson_id))
        except DependencyDown:
            refused += 1
            return
        acknowledged.add((enrollments[student_id], lesson_id))
        if len(acknowledged) >= 200:
            midway.set()

    victim_index = shard_index(students[0].id, system.settings.shard_count)
    victim = ray.get_actor(shard_name(victim_index), namespace=NAMESPACE)
    # Other tests of the session (the fault suite) may have killed this shard already.
    restarts = actor_state(victim._actor_id.hex()).num_restarts

    async def kill_midway() -> None:
        await midway.wait()
        ray.kill(victim, no_restart=False)

    work = [complete(s.id, lesson) for lesson in lessons for s in students]
    assert len(work) == 1000
    await asyncio.gather(kill_midway(), *work)
    assert len(acknowledged) + refused == 1000 and len(acknowledged) >= 200
    assert actor_state(victim._actor_id.hex()).num_restarts == restarts + 1

    async with db.unit_of_work() as uow:
        stored = (
            await uow.session.execute(
                select(LessonCompletion.enrollment_id, LessonCompletion.lesson_id).where(
                    LessonCompletion.enrollment_id.in_(enrollments.values())
                )
            )
        ).all()
        percentages = dict(
            (
                await uow.session.execute(
                    select(Enrollment.id, Enrollment.completion_percentage).where(
                        Enrollment.id.in_(enrollments.values())
                    )
                )
            ).all()
        )
    assert acknowledged <= set(stored)
    assert len(stored) == len(set(stored))
    for student in students:
        enrollment_id = enrollments[student.id]
        read = await shards.call(ReadProgress(student.id, enrollment_id))
        in_db = {lesson for e, lesson in stored if e == enrollment_id}
        assert set(read["progress"]["completed_lessons"]) == in_db
        assert read["progress"]["completion_percentage"] == percentages[enrollment_id]

"""Inactivity reminders: the daily Temporal schedule notifies a student whose active enrollment
saw no progress for the configured days, once per day however often it runs."""

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from storage.db import Database
from storage.models.enrollment import Enrollment
from storage.temporal import REMINDER_SCHEDULE_ID, connect
from tests.conftest import System
from tests.e2e.accounts import Account, account
from tests.e2e.catalog import active_enrollment, poll, published_course


async def inactive_student(client: httpx.AsyncClient, system: System, db: Database) -> Account:
    """A student enrolled in a fresh course whose last access is past the reminder's days."""
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner, modules=1, lessons=2)
    enrollment = await active_enrollment(client, student, course["id"])
    idle_since = datetime.now(UTC) - timedelta(days=system.settings.reminder_inactive_days + 1)
    async with db.unit_of_work() as uow:
        await uow.session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment["id"])
            .values(last_accessed_at=idle_since)
        )
        await uow.commit()
    return student


async def test_an_inactive_student_is_reminded_once_a_day(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    student = await inactive_student(client, system, db)
    schedule = (await connect(system.settings)).get_schedule_handle(REMINDER_SCHEDULE_ID)

    async def reminders() -> list:
        notes = (await client.get("/notifications", headers=student.headers)).json()["items"]
        return [n for n in notes if n["kind"] == "reminder"]

    await schedule.trigger()
    assert len(await poll(reminders)) == 1
    await schedule.trigger()

    async def second_run_done() -> bool:
        description = await schedule.describe()
        return description.info.num_actions >= 2 and not description.info.running_actions

    await poll(second_run_done)
    assert len(await reminders()) == 1

"""The notification consumer's handler on real PostgreSQL and RabbitMQ. A poll's events are
handled together: one notice per event and recipient, one message per recipient and channel
on its queue; and a poll with an event that names a missing row writes and hands over nothing,
so the consumer can redo it one event at a time."""

import uuid
from collections.abc import Iterator

import pytest

from actors.collaborators import Collaborators
from actors.notify import notify
from actors.poison import Poison
from core.events import EnrollmentData, ModuleCompletedData, ReminderDueData, make_event
from core.settings import Settings
from storage.db import Database
from storage.models.enrollment import Enrollment
from storage.repositories.notification import NotificationRepository
from tests.integration.certificate_rows import completed_enrollment
from workflows.celery_app import celery_for, delete_broker_objects, task_queues


@pytest.fixture
def notifying(database: Settings) -> Iterator[Settings]:
    """Queues of this test's own (declared, with no worker), so what is handed over stays there
    to be counted."""
    own = database.model_copy(update={"celery_queue_prefix": f"t{uuid.uuid4().hex[:10]}."})
    with celery_for(own).connection_for_write() as conn:
        for queue in task_queues(own.celery_queue_prefix):
            queue.bind(conn.default_channel).declare()
    yield own
    delete_broker_objects(own)


CHANNEL_QUEUES = ("email_queue", "sms_queue", "push_queue")


def waiting(settings: Settings) -> dict[str, int]:
    """The messages on each channel's queue."""
    found = {}
    with celery_for(settings).connection_for_write() as conn:
        for queue in task_queues(settings.celery_queue_prefix):
            name = queue.name.removeprefix(settings.celery_queue_prefix)
            if name in CHANNEL_QUEUES:
                declared = queue.bind(conn.default_channel).queue_declare(passive=True)
                found[name] = declared.message_count
    return found


async def student_enrollment(db: Database, name: str) -> EnrollmentData:
    enrollment_id = await completed_enrollment(db, name, status="active")
    async with db.unit_of_work() as uow:
        row = await uow.session.get(Enrollment, enrollment_id)
    assert row is not None
    return EnrollmentData(enrollment_id=row.id, student_id=row.student_id, course_id=row.course_id)


async def notices(db: Database, user_id: int) -> list[str]:
    async with db.unit_of_work() as uow:
        page = await NotificationRepository(uow.session).for_user(
            user_id, unread_only=False, offset=0, limit=50
        )
    return sorted(row.kind for row in page.rows)


async def test_a_poll_notifies_each_recipient_once_per_event_and_channel(
    db: Database, notifying: Settings
) -> None:
    ada, grace = await student_enrollment(db, "Ada"), await student_enrollment(db, "Grace")
    due = {"completion_percentage": 40.0, "day": "2026-12-07"}
    events = [
        make_event("enrollment.created", "e", ada, "t"),
        make_event("enrollment.created", "e", grace, "t"),
        make_event("enrollment.reminder_due", "e", ReminderDueData(**dict(ada), **due), "t"),
    ]
    async with db.unit_of_work() as uow:
        await notify(uow, events, Collaborators.open(notifying))
        await uow.commit()
    assert await notices(db, ada.student_id) == ["enrollment_welcome", "reminder"]
    assert await notices(db, grace.student_id) == ["enrollment_welcome"]
    # Welcome: in-app and email; the reminder: every channel.
    assert waiting(notifying) == {"email_queue": 3, "sms_queue": 1, "push_queue": 1}


async def test_a_poll_with_a_missing_row_hands_nothing_over(
    db: Database, notifying: Settings
) -> None:
    ada = await student_enrollment(db, "Ada")
    gone = ModuleCompletedData(**dict(ada), module_id=2**62)
    events = [
        make_event("enrollment.created", "e", ada, "t"),
        make_event("progress.module_completed", "e", gone, "t"),
    ]
    with pytest.raises(Poison, match="the module does not exist"):
        async with db.unit_of_work() as uow:
            await notify(uow, events, Collaborators.open(notifying))
            await uow.commit()
    assert await notices(db, ada.student_id) == []
    assert waiting(notifying) == {"email_queue": 0, "sms_queue": 0, "push_queue": 0}

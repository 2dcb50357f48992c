"""The notification consumer's handler: the one place where events become notices.

For an event it finds the kind (core.notices), the recipients and the values the templates
need, then, per recipient and channel the recipient has not turned off: the in-app notice (a
row, unique per recipient and event) and the email, SMS and push tasks (each sent at most once
per dedupe key). Everything happens in the transaction that marks the event processed.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from actors.collaborators import Collaborators
from actors.poison import Poison, required
from core.certificates import verification_url
from core.emails import EmailRequest
from core.events import EventEnvelope
from core.notices import CHANNELS_OF, KIND_OF_EVENT, dedupe_key, render
from core.settings import Settings
from storage.db import UnitOfWork
from storage.repositories.course import CourseRepository
from storage.repositories.enrollment import EnrollmentRepository
from storage.repositories.notification import NewNotification, NotificationRepository
from storage.repositories.preferences import PreferencesRepository
from storage.repositories.user import UserRepository
from workflows.tasks.email import enqueue_email_async
from workflows.tasks.messages import enqueue_message_async
from workflows.tasks.providers import OutboundMessage

# `user.deleted` makes no notice: the erased user's notices go with their personal data.
NOTIFIED = frozenset({*KIND_OF_EVENT, "user.deleted"})


@dataclass(frozen=True)
class Audience:
    recipients: list[int]
    values: dict[str, str]


Finder = Callable[[UnitOfWork, dict, Settings], Awaitable[Audience]]


async def course_title(uow: UnitOfWork, course_id: int) -> str:
    return required(await CourseRepository(uow.session).title(course_id), "the course")


async def student_of(uow: UnitOfWork, data: dict, settings: Settings) -> Audience:
    return Audience(
        [data["student_id"]], {"course_title": await course_title(uow, data["course_id"])}
    )


async def module_student(uow: UnitOfWork, data: dict, settings: Settings) -> Audience:
    audience = await student_of(uow, data, settings)
    title = required(
        await CourseRepository(uow.session).module_title(data["module_id"]), "the module"
    )
    return Audience(audience.recipients, audience.values | {"module_title": title})


async def certificate_student(uow: UnitOfWork, data: dict, settings: Settings) -> Audience:
    title = data.get("course_title") or await course_title(uow, data["course_id"])
    code = data["verification_code"]
    values = {
        "course_title": title,
        "verification_code": code,
        "verification_url": verification_url(settings, code),
    }
    return Audience([data["student_id"]], values)


async def reminded_student(uow: UnitOfWork, data: dict, settings: Settings) -> Audience:
    audience = await student_of(uow, data, settings)
    done = f"{data['completion_percentage']:g}"
    return Audience(audience.recipients, audience.values | {"completion_percentage": done})


async def instructor(uow: UnitOfWork, data: dict, settings: Settings) -> Audience:
    values = {"course_title": data["title"], "reason": data.get("reason", "")}
    return Audience([data["instructor_id"]], values)


async def enrolled_students(uow: UnitOfWork, data: dict, settings: Settings) -> Audience:
    """Everyone still studying the course (a completed enrollment has nothing to lose)."""
    students = await EnrollmentRepository(uow.session).students_studying(data["course_id"])
    return Audience(sorted(students), {"course_title": data["title"]})


AUDIENCE: dict[str, Finder] = {
    "enrollment.created": student_of,
    "enrollment.waitlist_admitted": student_of,
    "progress.module_completed": module_student,
    "certificate.issued": certificate_student,
    "enrollment.reminder_due": reminded_student,
    "course.published": instructor,
    "course.publish_failed": instructor,
    "course.archived": enrolled_students,
}


async def notify(uow: UnitOfWork, events: Sequence[EventEnvelope], deps: Collaborators) -> None:
    """Every notice of `events`."""
    for event in events:
        await notify_of(uow, event, deps)


async def notify_of(uow: UnitOfWork, event: EventEnvelope, deps: Collaborators) -> None:
    """The event's notices, on every channel its recipients want."""
    settings = deps.settings
    if event.type == "user.deleted":
        await NotificationRepository(uow.session).delete_for_user(event.data["user_id"])
        return
    kind = KIND_OF_EVENT[event.type]
    audience = await AUDIENCE[event.type](uow, event.data, settings)
    # An event from before the erasure can arrive after `user.deleted` (another topic).
    erased = await UserRepository(uow.session).erased(audience.recipients)
    recipients = [user for user in audience.recipients if user not in erased]
    off = await PreferencesRepository(uow.session).disabled_channels(recipients, kind)
    wanted = {
        channel: [user for user in recipients if (user, channel) not in off]
        for channel in CHANNELS_OF[kind]
    }
    key = dedupe_key(kind, str(event.id))
    if wanted.get("in_app"):
        text = render(kind, "in_app", audience.values)
        notices = [
            NewNotification(user, kind, text.title, text.body, key) for user in wanted["in_app"]
        ]
        await NotificationRepository(uow.session).add(notices)
    if wanted.get("email"):
        await send_emails(uow, settings, kind, wanted["email"], audience.values, key)
    for channel in ("sms", "push"):
        for user in wanted.get(channel, []):
            text = render(kind, channel, audience.values)
            message = OutboundMessage(
                channel=channel,
                user_id=user,
                kind=kind,
                title=text.title,
                body=text.body,
                dedupe_key=f"{key}:{user}",
            )
            await enqueue_message_async(settings, message)


async def send_emails(
    uow: UnitOfWork,
    settings: Settings,
    kind: str,
    users: list[int],
    values: dict[str, str],
    key: str,
) -> None:
    found = await UserRepository(uow.session).contacts(users)
    if len(found) < len(users):
        raise Poison("a recipient does not exist")
    for contact in found:
        request = EmailRequest(
            kind=kind,
            to=contact.email,
            name=contact.full_name,
            context=values,
            dedupe_key=f"{key}:{contact.user_id}",
        )
        # The email task sends once per dedupe key, so a redelivered event mails once.
        await enqueue_email_async(settings, request)

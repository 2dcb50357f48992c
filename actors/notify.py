"""The notification consumer's handler: the one place where events become notices.

For each event it finds the kind (core.notices), the recipients and the values the templates
need, then, per recipient and channel the recipient has not turned off: the in-app notice (a
row, unique per recipient and event) and the email, SMS and push tasks (each sent at most once
per dedupe key). Everything happens in the transaction that marks the events processed.

A poll's events are handled together: each lookup (titles, erasures, preferences, addresses)
is one query for all of them, the notices one insert, and the messages go to Celery in one
worker thread, after every row is written. So an event that turns out poison stops the poll
before anything is handed over; and a poll redone one event at a time hands a message over
twice at most, which its dedupe key sends once.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Self

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
from workflows.tasks.email import enqueue_email
from workflows.tasks.messages import enqueue_message
from workflows.tasks.providers import OutboundMessage

# `user.deleted` makes no notice: the erased user's notices go with their personal data.
NOTIFIED = frozenset({*KIND_OF_EVENT, "user.deleted"})


@dataclass(frozen=True)
class Titles:
    """The course and module titles a poll's events name, read in one query each."""

    courses: dict[int, str]
    modules: dict[int, str]

    @classmethod
    async def of(cls, uow: UnitOfWork, events: Iterable[EventEnvelope]) -> Self:
        course_ids = {e.data["course_id"] for e in events if "course_id" in e.data}
        module_ids = {e.data["module_id"] for e in events if "module_id" in e.data}
        courses = CourseRepository(uow.session)
        return cls(await courses.titles(course_ids), await courses.module_titles(module_ids))

    def course(self, course_id: int) -> str:
        return required(self.courses.get(course_id), "the course")

    def module(self, module_id: int) -> str:
        """Also of a removed module: its events may arrive after."""
        return required(self.modules.get(module_id), "the module")


@dataclass(frozen=True)
class Audience:
    recipients: list[int]
    values: dict[str, str]


Finder = Callable[[UnitOfWork, dict, Titles, Settings], Awaitable[Audience]]


async def student_of(uow: UnitOfWork, data: dict, titles: Titles, settings: Settings) -> Audience:
    return Audience([data["student_id"]], {"course_title": titles.course(data["course_id"])})


async def module_student(
    uow: UnitOfWork, data: dict, titles: Titles, settings: Settings
) -> Audience:
    audience = await student_of(uow, data, titles, settings)
    values = audience.values | {"module_title": titles.module(data["module_id"])}
    return Audience(audience.recipients, values)


async def certificate_student(
    uow: UnitOfWork, data: dict, titles: Titles, settings: Settings
) -> Audience:
    code = data["verification_code"]
    values = {
        "course_title": data.get("course_title") or titles.course(data["course_id"]),
        "verification_code": code,
        "verification_url": verification_url(settings, code),
    }
    return Audience([data["student_id"]], values)


async def reminded_student(
    uow: UnitOfWork, data: dict, titles: Titles, settings: Settings
) -> Audience:
    audience = await student_of(uow, data, titles, settings)
    done = f"{data['completion_percentage']:g}"
    return Audience(audience.recipients, audience.values | {"completion_percentage": done})


async def instructor(uow: UnitOfWork, data: dict, titles: Titles, settings: Settings) -> Audience:
    values = {"course_title": data["title"], "reason": data.get("reason", "")}
    return Audience([data["instructor_id"]], values)


async def enrolled_students(
    uow: UnitOfWork, data: dict, titles: Titles, settings: Settings
) -> Audience:
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


@dataclass(frozen=True)
class Notice:
    """One event's notice: its kind, its dedupe key, and who wants it on which channel."""

    kind: str
    key: str
    values: dict[str, str]
    wanted: dict[str, list[int]]

    def message_key(self, user: int) -> str:
        """The dedupe key of the recipient's email, SMS or push: each is sent once."""
        return f"{self.key}:{user}"


async def notify(uow: UnitOfWork, events: Sequence[EventEnvelope], deps: Collaborators) -> None:
    """Every notice of `events`."""
    settings = deps.settings
    notices = await notices_of(uow, [e for e in events if e.type != "user.deleted"], settings)
    emails = await emails_of(uow, notices)
    messages = [message for notice in notices for message in messages_of(notice)]
    notifications = NotificationRepository(uow.session)
    await notifications.add([row for notice in notices for row in in_app(notice)])
    for event in events:
        if event.type == "user.deleted":
            await notifications.delete_for_user(event.data["user_id"])
    if emails or messages:
        await asyncio.to_thread(hand_over, settings, emails, messages)


async def notices_of(
    uow: UnitOfWork, events: Sequence[EventEnvelope], settings: Settings
) -> list[Notice]:
    """Each event's notice, on the channels its recipients want."""
    titles = await Titles.of(uow, events)
    found = [
        (event, await AUDIENCE[event.type](uow, event.data, titles, settings)) for event in events
    ]
    # An event from before the erasure can arrive after `user.deleted` (another topic).
    everyone = {user for _, audience in found for user in audience.recipients}
    erased = await UserRepository(uow.session).erased(everyone)
    by_kind: dict[str, set[int]] = {}
    for event, audience in found:
        by_kind.setdefault(KIND_OF_EVENT[event.type], set()).update(audience.recipients)
    preferences = PreferencesRepository(uow.session)
    off = {
        kind: await preferences.disabled_channels(users, kind) for kind, users in by_kind.items()
    }
    notices = []
    for event, audience in found:
        kind = KIND_OF_EVENT[event.type]
        recipients = [user for user in audience.recipients if user not in erased]
        wanted = {
            channel: [user for user in recipients if (user, channel) not in off[kind]]
            for channel in CHANNELS_OF[kind]
        }
        notices.append(Notice(kind, dedupe_key(kind, str(event.id)), audience.values, wanted))
    return notices


def in_app(notice: Notice) -> list[NewNotification]:
    users = notice.wanted.get("in_app")
    if not users:
        return []
    text = render(notice.kind, "in_app", notice.values)
    return [NewNotification(user, notice.kind, text.title, text.body, notice.key) for user in users]


def messages_of(notice: Notice) -> list[OutboundMessage]:
    messages = []
    for channel in ("sms", "push"):
        users = notice.wanted.get(channel)
        if not users:
            continue
        text = render(notice.kind, channel, notice.values)
        messages += [
            OutboundMessage(
                channel=channel,
                user_id=user,
                kind=notice.kind,
                title=text.title,
                body=text.body,
                dedupe_key=notice.message_key(user),
            )
            for user in users
        ]
    return messages


async def emails_of(uow: UnitOfWork, notices: Sequence[Notice]) -> list[EmailRequest]:
    """The emails of the notices, to the addresses of their recipients (one query)."""
    users = {user for notice in notices for user in notice.wanted.get("email", [])}
    if not users:
        return []
    contacts = {c.user_id: c for c in await UserRepository(uow.session).contacts(sorted(users))}
    emails = []
    for notice in notices:
        for user in notice.wanted.get("email", []):
            contact = contacts.get(user)
            if contact is None:
                raise Poison("a recipient does not exist")
            emails.append(
                EmailRequest(
                    kind=notice.kind,
                    to=contact.email,
                    name=contact.full_name,
                    context=notice.values,
                    dedupe_key=notice.message_key(user),
                )
            )
    return emails


def hand_over(
    settings: Settings, emails: Sequence[EmailRequest], messages: Sequence[OutboundMessage]
) -> None:
    """Each message to its queue, each publish confirmed by the broker (run in a thread)."""
    for request in emails:
        enqueue_email(settings, request)
    for message in messages:
        enqueue_message(settings, message)

"""Notices: which event becomes which kind of notice, on which channels, with which text.

The notification consumer is the only writer of notices; this table is all it knows about them.
Email bodies are the templates of `core.emails` (rendered by the email task); the in-app, SMS and
push texts are here. Preferences are per user, kind and channel; anything not set is on.
"""

from dataclasses import dataclass
from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool

from core.emails import TEMPLATES as EMAIL_TEMPLATES

Channel = Literal["email", "sms", "push", "in_app"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "push", "in_app")
NoticeKind = Literal[
    "enrollment_welcome",
    "course_published",
    "module_completed",
    "certificate_ready",
    "course_archived",
    "reminder",
    "course_publish_failed",
    "waitlist_admitted",
]
KINDS: tuple[str, ...] = NoticeKind.__args__  # type: ignore[attr-defined]

# The event that causes each kind of notice.
KIND_OF_EVENT: dict[str, str] = {
    "enrollment.created": "enrollment_welcome",
    "course.published": "course_published",
    "progress.module_completed": "module_completed",
    "certificate.issued": "certificate_ready",
    "course.archived": "course_archived",
    "enrollment.reminder_due": "reminder",
    "course.publish_failed": "course_publish_failed",
    "enrollment.waitlist_admitted": "waitlist_admitted",
}
# Seed 5.6 names the channel of each kind; in-app goes with all of them (the notification list
# of API.md), and SMS carries the alert (archived) and the reminder (seed 6.1 `sms_queue`).
CHANNELS_OF: dict[str, tuple[Channel, ...]] = {
    "enrollment_welcome": ("in_app", "email"),
    "course_published": ("in_app", "email", "push"),
    "module_completed": ("in_app", "email"),
    "certificate_ready": ("in_app", "email", "push"),
    "course_archived": ("in_app", "email", "push", "sms"),
    "reminder": ("in_app", "email", "push", "sms"),
    "course_publish_failed": ("in_app",),
    "waitlist_admitted": ("in_app",),
}


@dataclass(frozen=True, slots=True)
class Text:
    title: str
    body: str

    def fields(self) -> set[str]:
        parts = Formatter().parse(self.title + self.body)
        return {name for _, name, _, _ in parts if name}


IN_APP: dict[str, Text] = {
    "waitlist_admitted": Text(
        "A seat opened in {course_title}", "You are off the waitlist and enrolled."
    ),
    "enrollment_welcome": Text(
        "Welcome to {course_title}",
        "You are enrolled. Start with the first lesson whenever you are ready.",
    ),
    "course_published": Text(
        "{course_title} is published", "Students can now find and enroll in your course."
    ),
    "module_completed": Text(
        "Module complete: {module_title}", "Well done. The next module is waiting for you."
    ),
    "certificate_ready": Text(
        "Your certificate is ready",
        'Your certificate for "{course_title}" is ready. Verification code: {verification_code}',
    ),
    "course_archived": Text(
        "{course_title} was archived", "The course is no longer offered; your progress is kept."
    ),
    "reminder": Text(
        "Continue {course_title}", "Your course is waiting for you; pick up where you left off."
    ),
    "course_publish_failed": Text("{course_title} could not be published", "{reason}"),
}
# Short texts: a push shows a title and a line, an SMS one line (no title).
PUSH: dict[str, Text] = {
    "course_published": Text("{course_title} is live", "Students can now enroll."),
    "certificate_ready": Text("Certificate ready", "Your certificate for {course_title}."),
    "course_archived": Text("{course_title} archived", "Your progress is kept."),
    "reminder": Text("Continue {course_title}", "You are {completion_percentage}% there."),
}
SMS: dict[str, Text] = {
    "course_archived": Text("", "SmartCourse: {course_title} was archived; your progress is kept."),
    "reminder": Text("", "SmartCourse: {course_title} is waiting for you."),
}
TEXTS: dict[Channel, dict[str, Text]] = {"in_app": IN_APP, "push": PUSH, "sms": SMS}


def needed_values(kind: str) -> set[str]:
    """Every value the templates of `kind` name, over all its channels (`name` is the
    recipient's, added per recipient)."""
    needed: set[str] = set()
    for channel in CHANNELS_OF[kind]:
        if channel == "email":
            needed |= EMAIL_TEMPLATES[kind].fields() - {"name"}
        else:
            needed |= TEXTS[channel][kind].fields()
    return needed


def render(kind: str, channel: Channel, values: dict[str, str]) -> Text:
    """The in-app, SMS or push text of `kind` (email is rendered by the email task)."""
    template = TEXTS[channel][kind]
    # A line break in a title would split a push or an SMS header: fold it away.
    title = " ".join(template.title.format_map(values).split())
    return Text(title, template.body.format_map(values))


def dedupe_key(kind: str, event_id: str) -> str:
    """One notice per recipient, kind and event: a redelivered event notifies nobody twice."""
    return f"{kind}:{event_id}"


Preferences = dict[str, dict[str, bool]]


def preference_view(disabled: set[tuple[str, str]]) -> Preferences:
    """Every channel and kind with its setting; `disabled` holds the (channel, kind) turned off."""
    return {c: {k: (c, k) not in disabled for k in KINDS} for c in CHANNELS}


KindFlags = dict[NoticeKind, StrictBool]


class PreferencesUpdate(BaseModel):
    """A partial update (API.md PUT rule): absent channels and kinds keep their setting."""

    model_config = ConfigDict(extra="forbid")

    email: KindFlags | None = None
    sms: KindFlags | None = None
    push: KindFlags | None = None
    in_app: KindFlags | None = None

    def changes(self) -> list[tuple[str, str, bool]]:
        """(channel, kind, enabled) for every setting given."""
        return [
            (channel, kind, enabled)
            for channel in CHANNELS
            for kind, enabled in (getattr(self, channel) or {}).items()
        ]

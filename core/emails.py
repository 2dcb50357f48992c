"""Email templates: the subject and plain-text body of each kind of email, and the request that
hands one to the email queue.

Kinds match the in-app notification kinds of API.md. A template names the values it needs, so a
request missing one is refused when it is made, not when a worker tries to send it.
"""

from dataclasses import dataclass
from string import Formatter
from typing import Literal

from pydantic import BaseModel, Field, model_validator

EmailKind = Literal[
    "enrollment_welcome",
    "course_published",
    "module_completed",
    "certificate_ready",
    "course_archived",
    "reminder",
]


@dataclass(frozen=True, slots=True)
class Template:
    subject: str
    body: str

    def fields(self) -> set[str]:
        parts = Formatter().parse(self.subject + self.body)
        return {name for _, name, _, _ in parts if name}


SIGNATURE = "\n\n— The SmartCourse team\n"
TEMPLATES: dict[str, Template] = {
    "enrollment_welcome": Template(
        "Welcome to {course_title}",
        'Hello {name},\n\nYou are enrolled in "{course_title}". Your first lesson is waiting'
        " for you." + SIGNATURE,
    ),
    "course_published": Template(
        "Your course {course_title} is live",
        'Hello {name},\n\n"{course_title}" is published and open for enrollment.' + SIGNATURE,
    ),
    "module_completed": Template(
        "Module completed: {module_title}",
        'Hello {name},\n\nWell done: you completed "{module_title}" in "{course_title}".'
        + SIGNATURE,
    ),
    "certificate_ready": Template(
        "Your certificate for {course_title}",
        'Hello {name},\n\nCongratulations on completing "{course_title}". Your certificate'
        " is ready.\nVerification code: {verification_code}\nAnyone can verify it at"
        " {verification_url}" + SIGNATURE,
    ),
    "course_archived": Template(
        "{course_title} has been archived",
        'Hello {name},\n\n"{course_title}" has been archived. Your progress and certificates'
        " stay available; no new enrollments are accepted." + SIGNATURE,
    ),
    "reminder": Template(
        "Pick up where you left off in {course_title}",
        'Hello {name},\n\nYou have not studied "{course_title}" for a while. You are'
        " {completion_percentage}% of the way there." + SIGNATURE,
    ),
}


class EmailRequest(BaseModel):
    """One email to send: its kind, recipient and the values its template needs.
    `dedupe_key`, when given, makes sending at-most-once per key (redelivery, retries)."""

    kind: EmailKind
    to: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=200)
    context: dict[str, str] = Field(default_factory=dict)
    dedupe_key: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def has_template_values(self) -> "EmailRequest":
        missing = TEMPLATES[self.kind].fields() - {"name", *self.context}
        if missing:
            raise ValueError(f"{self.kind} email needs {sorted(missing)}")
        return self


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    body: str


def render(request: EmailRequest) -> RenderedEmail:
    template = TEMPLATES[request.kind]
    values = {**request.context, "name": request.name}
    # A line break in a header would let a course title inject headers: fold it away.
    subject = " ".join(template.subject.format_map(values).split())
    return RenderedEmail(subject, template.body.format_map(values))

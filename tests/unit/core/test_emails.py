"""Email templates: every kind renders with its values, a request missing one is refused when
made, and values cannot inject headers."""

import pytest
from pydantic import ValidationError

from core.emails import TEMPLATES, EmailRequest, render

VALUES = {
    "course_title": "Distributed Systems",
    "module_title": "Consensus",
    "verification_code": "ABCD-EFGH",
    "verification_url": "http://127.0.0.1:8000/certificates/verify/ABCD-EFGH",
    "completion_percentage": "40",
}


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_every_kind_renders_its_values_and_the_name(kind: str) -> None:
    needed = {name: VALUES[name] for name in TEMPLATES[kind].fields() - {"name"}}
    request = EmailRequest(kind=kind, to="ada@example.com", name="Ada Lovelace", context=needed)
    email = render(request)
    assert "Ada Lovelace" in email.body
    for value in needed.values():
        assert value in email.subject + email.body
    assert "{" not in email.subject + email.body


def test_the_six_kinds_of_the_api_have_templates() -> None:
    assert set(TEMPLATES) == {
        "enrollment_welcome",
        "course_published",
        "module_completed",
        "certificate_ready",
        "course_archived",
        "reminder",
    }


def test_a_request_missing_a_template_value_is_refused() -> None:
    with pytest.raises(ValidationError, match="verification_code"):
        EmailRequest(
            kind="certificate_ready",
            to="ada@example.com",
            name="Ada",
            context={"course_title": "X", "verification_url": "http://x"},
        )


@pytest.mark.parametrize("address", ["", "no-at-sign", "two@@example.com x"])
def test_a_malformed_address_is_refused(address: str) -> None:
    with pytest.raises(ValidationError):
        EmailRequest(kind="course_archived", to=address, name="Ada", context=VALUES)


def test_a_line_break_in_a_value_cannot_start_a_new_header() -> None:
    context = {**VALUES, "course_title": "Evil\r\nBcc: victim@example.com"}
    email = render(
        EmailRequest(kind="course_archived", to="ada@example.com", name="Ada", context=context)
    )
    assert "\n" not in email.subject and "\r" not in email.subject

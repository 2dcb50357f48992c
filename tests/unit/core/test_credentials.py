"""Credential rules: email normalisation and syntax, password length bounds, bcrypt hashing,
and the request models that turn a broken rule into a field-named validation error."""

import pytest
from pydantic import ValidationError

from core.credentials import (
    PasswordHasher,
    email_problem,
    normalise_email,
    password_problem,
)
from core.users import InstructorUpdate, Registration, UserUpdate


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert normalise_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"


@pytest.mark.parametrize("email", ["ada@example.com", "a+tag@sub.example.co.uk"])
def test_plausible_emails_pass(email: str) -> None:
    assert email_problem(email) is None


@pytest.mark.parametrize(
    "email", ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "a@@b.io"]
)
def test_malformed_emails_are_named(email: str) -> None:
    assert email_problem(email) == "is not a valid email address"


def test_overlong_email_is_refused() -> None:
    assert "at most" in (email_problem("a" * 60 + "@" + "b" * 200 + ".com") or "")


@pytest.mark.parametrize(("length", "ok"), [(7, False), (8, True), (128, True), (129, False)])
def test_password_length_bounds_are_8_to_128(length: int, ok: bool) -> None:
    assert (password_problem("x" * length) is None) is ok


def test_hash_verifies_only_the_right_password_and_never_contains_it() -> None:
    hasher = PasswordHasher(rounds=4)
    stored = hasher.hash("correct horse battery")
    assert "correct horse battery" not in stored
    assert hasher.verify("correct horse battery", stored)
    assert not hasher.verify("correct horse battery!", stored)


def test_passwords_differing_after_72_bytes_are_different() -> None:
    # Plain bcrypt ignores bytes after 72; the SHA-256 pre-hash keeps them significant.
    hasher = PasswordHasher(rounds=4)
    stored = hasher.hash("a" * 100)
    assert not hasher.verify("a" * 99 + "b", stored)


def test_unknown_account_verification_fails_without_a_hash() -> None:
    assert PasswordHasher(rounds=4).verify("whatever1", None) is False


@pytest.mark.parametrize("stored", ["!", "", "*", "$bcrypt-sha256$v=2,t=2b,r=4$abc"])
def test_a_stored_value_that_is_no_hash_fails_verification(stored: str) -> None:
    assert PasswordHasher(rounds=4).verify("whatever1", stored) is False


def test_hash_uses_the_configured_cost() -> None:
    assert ",r=12$" in PasswordHasher(rounds=12).hash("password123")


def fields(error: ValidationError) -> set[str]:
    return {".".join(map(str, e["loc"])) for e in error.errors()}


def test_registration_normalises_email_and_name() -> None:
    reg = Registration(email=" Ada@Example.com", password="12345678", full_name=" Ada ")
    assert (reg.email, reg.full_name, reg.role) == ("ada@example.com", "Ada", "student")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nope", "password": "12345678", "full_name": "A"}, "email"),
        ({"email": "a@b.io", "password": "short", "full_name": "A"}, "password"),
        ({"email": "a@b.io", "password": "12345678", "full_name": " "}, "full_name"),
        ({"email": "a@b.io", "password": "12345678", "full_name": "A", "role": "admin"}, "role"),
    ],
)
def test_registration_names_the_bad_field(body: dict, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        Registration(**body)
    assert fields(error.value) == {field}


def test_models_never_show_a_password() -> None:
    reg = Registration(email="a@b.io", password="hunter2hunter2", full_name="A")
    assert "hunter2hunter2" not in repr(reg) and "hunter2hunter2" not in str(reg.model_dump())


def test_profile_updates_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError) as error:
        UserUpdate(role="admin")
    assert fields(error.value) == {"role"}
    with pytest.raises(ValidationError):
        InstructorUpdate(expertise=["ok", " "])


def test_emails_are_nfkc_normalised() -> None:
    # Full-width letters and a ligature are the same address as their plain forms.
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "ADA") + "@example.com"
    assert normalise_email(full_width) == "ada@example.com"
    assert normalise_email("\ufb01@example.com") == "fi@example.com"


@pytest.mark.parametrize(
    "email", ["ad\u200ba@example.com", "ada@exam\u202eple.com", "ada\u2066@example.com"]
)
def test_invisible_and_bidi_characters_are_refused(email: str) -> None:
    assert email_problem(normalise_email(email)) == (
        "must not contain invisible or bidirectional-control characters"
    )

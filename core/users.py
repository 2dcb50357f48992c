"""The users boundary: what register, login, token and profile calls accept and answer.

The gateway validates requests with these models and passes them, unchanged, to the users
service; a rule failing here becomes a 422 naming the field. Passwords are `SecretStr`, so a
model printed or logged never shows one.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError

from core.credentials import email_problem, normalise_email, password_problem
from core.identity import Role
from core.text import Line, LongText, control_problem

FULL_NAME_MAX = 200
# Long enough for any real password or token; bounds the work an abusive body can cause.
OPAQUE_MAX = 1024


def checked_email(value: str) -> str:
    email = normalise_email(value)
    problem = email_problem(email)
    if problem:
        raise PydanticCustomError("email", problem)
    return email


def checked_password(value: SecretStr) -> SecretStr:
    problem = opaque_problem(value) or password_problem(value.get_secret_value())
    if problem:
        raise PydanticCustomError("password", problem)
    return value


def opaque_problem(value: SecretStr) -> str | None:
    # Never echoes the character found: this is a secret.
    if control_problem(value.get_secret_value()):
        return "must not contain control characters"
    return None


def checked_secret(value: SecretStr) -> SecretStr:
    if opaque_problem(value):
        raise PydanticCustomError("control_character", "must not contain control characters")
    return value


FullName = Field(min_length=1, max_length=FULL_NAME_MAX)
# Request bodies: integers and strings are what they claim to be (API.md rules).
REQUEST = ConfigDict(extra="forbid", strict=True)


class Registration(BaseModel):
    model_config = ConfigDict(strict=True)

    email: str
    password: SecretStr
    full_name: Line = FullName
    role: Literal["student", "instructor"] = "student"

    _email = field_validator("email")(checked_email)
    _password = field_validator("password")(checked_password)

    @field_validator("full_name", mode="before")
    @classmethod
    def strip_name(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class LoginRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    # No syntax check: a malformed email simply matches no account (the same 401).
    email: Line = Field(max_length=OPAQUE_MAX)
    password: SecretStr = Field(max_length=OPAQUE_MAX)

    _password = field_validator("password")(checked_secret)


class LoginAttempt(LoginRequest):
    """A login as the users service sees it: the credentials and where they came from."""

    client_ip: str


class RefreshRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    refresh_token: Line = Field(min_length=1, max_length=OPAQUE_MAX)


class SessionEnd(BaseModel):
    """Logout: the caller and the refresh token of the session to end."""

    user_id: int
    refresh_token: str


class UserUpdate(BaseModel):
    model_config = REQUEST

    full_name: Line = Field(default=None, min_length=1, max_length=FULL_NAME_MAX)
    password: SecretStr | None = None

    @field_validator("password")
    @classmethod
    def check_password(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None else checked_password(value)

    @field_validator("full_name", mode="before")
    @classmethod
    def strip_name(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class InstructorUpdate(BaseModel):
    model_config = REQUEST

    bio: LongText = Field(default=None, max_length=5000)
    expertise: list[Line] = Field(default=None, max_length=50)

    @field_validator("expertise")
    @classmethod
    def check_topics(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        topics = [topic.strip() for topic in value]
        if any(not topic or len(topic) > 100 for topic in topics):
            raise PydanticCustomError("expertise", "each topic must be 1..100 characters")
        return topics


class UserView(BaseModel):
    id: int
    email: str
    full_name: str
    role: Role
    created_at: datetime


class PublicProfile(BaseModel):
    """What any signed-in user may read about another account (API.md: the email is the
    user's and the admins' only)."""

    id: int
    full_name: str
    role: Role


def visible_profile(principal_may_see_all: bool, view: dict) -> dict:
    """The full view for the user and admins, the public profile for everyone else."""
    if principal_may_see_all:
        return view
    return PublicProfile.model_validate(view).model_dump(mode="json")


class InstructorView(BaseModel):
    user_id: int
    full_name: str
    bio: str
    expertise: list[str]
    total_courses: int
    total_students: int


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type, no secret)
    expires_in: int

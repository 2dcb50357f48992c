"""The users service's logic against real PostgreSQL and Redis, called in-process (the e2e
tests cover the same paths through Ray and HTTP): the outbox event, conflicts that write
nothing, refresh rotation and reuse, session revocation and the user cache."""

import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from core.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from core.identity import Principal, Role
from core.settings import Settings
from core.users import LoginAttempt, RefreshRequest, Registration, UserUpdate
from serve import cli
from serve.resources import Resources
from serve.users import Users, create_admin
from storage.db import Database
from storage.keyvalue import connect_redis
from storage.models.outbox import OutboxEvent
from storage.models.user import User
from storage.revocations import revoked_session_key
from storage.user_cache import user_key

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
async def users(database: Settings) -> AsyncIterator[Users]:
    service = Users(Resources.open(database))
    yield service
    await service._db.dispose()


def registration(role: str = "student", email: str | None = None) -> Registration:
    address = email or f"{uuid.uuid4().hex}@example.com"
    return Registration(email=address, password=PASSWORD, full_name="Ada", role=role)


def attempt(email: str, password: str = PASSWORD) -> LoginAttempt:
    return LoginAttempt(email=email, password=SecretStr(password), client_ip="10.9.9.9")


async def counts(db: Database, email: str) -> tuple[int, int]:
    async with db.unit_of_work() as uow:
        users = await uow.session.scalar(
            select(func.count()).select_from(User).where(User.email == email)
        )
        events = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.event_type == "user.registered")
        )
    return users, events


async def test_registration_writes_the_user_and_its_event_together(
    users: Users, db: Database
) -> None:
    reg = registration("instructor")
    _, events_before = await counts(db, reg.email)
    user = await users.register(reg)
    assert set(user) == {"id", "email", "full_name", "role", "created_at"}
    assert await counts(db, reg.email) == (1, events_before + 1)
    async with db.unit_of_work() as uow:
        event = (
            await uow.session.execute(
                select(OutboxEvent.event_type, OutboxEvent.payload).where(
                    OutboxEvent.key == str(user["id"])
                )
            )
        ).one()
    assert event.event_type == "user.registered"
    assert PASSWORD not in str(event.payload) and "bcrypt" not in str(event.payload)
    profile = await users.get_instructor(Principal(user["id"], Role.INSTRUCTOR), user["id"])
    assert profile["total_courses"] == 0


async def test_duplicate_email_in_any_case_conflicts_and_writes_nothing(
    users: Users, db: Database
) -> None:
    reg = registration()
    await users.register(reg)
    before = await counts(db, reg.email)
    with pytest.raises(Conflict):
        await users.register(registration(email=reg.email.upper()))
    assert await counts(db, reg.email) == before


async def test_unknown_email_and_wrong_password_fail_alike(users: Users) -> None:
    reg = registration()
    await users.register(reg)
    with pytest.raises(Unauthorized) as wrong:
        await users.login(attempt(reg.email, "wrong password"))
    with pytest.raises(Unauthorized) as unknown:
        await users.login(attempt(f"nobody-{reg.email}"))
    assert wrong.value.message == unknown.value.message


async def test_refresh_rotates_and_reuse_revokes_the_family(
    users: Users, settings: Settings
) -> None:
    reg = registration()
    await users.register(reg)
    first = await users.login(attempt(reg.email.upper()))
    second = await users.refresh(RefreshRequest(refresh_token=first["refresh_token"]))
    assert second["refresh_token"] != first["refresh_token"]
    with pytest.raises(Unauthorized):
        await users.refresh(RefreshRequest(refresh_token=first["refresh_token"]))
    # The family is gone: even the newest token of the session no longer works.
    with pytest.raises(Unauthorized):
        await users.refresh(RefreshRequest(refresh_token=second["refresh_token"]))


async def test_password_change_ends_every_session(users: Users, settings: Settings) -> None:
    reg = registration()
    user = await users.register(reg)
    sessions = [await users.login(attempt(reg.email)) for _ in range(2)]
    me = Principal(user["id"], Role.STUDENT)
    await users.update_user(me, user["id"], UserUpdate(password="a new password"))
    for tokens in sessions:
        with pytest.raises(Unauthorized):
            await users.refresh(RefreshRequest(refresh_token=tokens["refresh_token"]))
    redis = connect_redis(settings)
    markers = [key async for key in redis.scan_iter(revoked_session_key("*"))]
    assert len(markers) >= 2
    with pytest.raises(Unauthorized):
        await users.login(attempt(reg.email))
    assert await users.login(attempt(reg.email, "a new password"))


async def test_user_is_cached_and_the_cache_is_dropped_on_update(
    users: Users, settings: Settings
) -> None:
    user = await users.register(registration())
    me = Principal(user["id"], Role.STUDENT)
    assert await users.get_user(me, user["id"]) == user
    redis = connect_redis(settings)
    assert 0 < await redis.ttl(user_key(user["id"])) <= settings.user_cache_ttl_seconds
    assert "hash" not in (await redis.get(user_key(user["id"])) or "")
    renamed = await users.update_user(me, user["id"], UserUpdate(full_name="Ada L."))
    assert await redis.get(user_key(user["id"])) is None
    assert (await users.get_user(me, user["id"]))["full_name"] == renamed["full_name"]


async def test_updating_someone_else_is_forbidden_and_changes_nothing(users: Users) -> None:
    victim = await users.register(registration())
    intruder = Principal(victim["id"] + 10_000, Role.INSTRUCTOR)
    with pytest.raises(Forbidden):
        await users.update_user(intruder, victim["id"], UserUpdate(full_name="Pwned"))
    owner = Principal(victim["id"], Role.STUDENT)
    assert (await users.get_user(owner, victim["id"]))["full_name"] == "Ada"
    with pytest.raises(NotFound):
        await users.get_user(owner, 2**62)


async def test_create_admin_makes_an_admin_who_can_log_in(database: Settings, users: Users) -> None:
    address = f"Admin-{uuid.uuid4().hex}@Example.com"
    admin = await create_admin(database, address, "Root", PASSWORD)
    assert admin["role"] == "admin" and admin["email"] == address.lower()
    assert await users.login(attempt(address))
    with pytest.raises(ValidationFailed) as invalid:
        await create_admin(database, "not-an-email", "Root", "short")
    assert {d["field"] for d in invalid.value.details} == {"email", "password"}


def test_cli_create_admin_takes_the_password_from_the_environment(
    database: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMARTCOURSE_ADMIN_PASSWORD", PASSWORD)
    address = f"cli-{uuid.uuid4().hex}@example.com"
    assert cli.main(["create-admin", "--email", address, "--full-name", "Root"]) == 0
    assert address in capsys.readouterr().out
    assert cli.main(["create-admin", "--email", address, "--full-name", "Root"]) == 1
    assert "already exists" in capsys.readouterr().err

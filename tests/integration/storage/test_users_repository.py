"""Users, instructor profiles and refresh-token sessions in real PostgreSQL."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from storage.db import Database
from storage.models.user import RefreshToken, User
from storage.repositories.session import SessionRepository
from storage.repositories.user import UserRepository


def email() -> str:
    return f"{uuid.uuid4().hex}@example.com"


async def add_user(db: Database, role: str = "student") -> User:
    async with db.unit_of_work() as uow:
        users = UserRepository(uow.session)
        user = await users.add(email(), "hash", "Ada", role)
        assert user is not None
        if role == "instructor":
            await users.add_instructor_profile(user.id)
        await uow.commit()
    return user


async def count_users(db: Database, address: str) -> int:
    async with db.unit_of_work() as uow:
        return await uow.session.scalar(
            select(func.count()).select_from(User).where(User.email == address)
        )


async def test_a_taken_email_answers_none_and_writes_nothing(db: Database) -> None:
    user = await add_user(db)
    async with db.unit_of_work() as uow:
        again = await UserRepository(uow.session).add(user.email, "other", "Bob", "student")
        await uow.commit()
    assert again is None
    assert await count_users(db, user.email) == 1


async def test_an_upper_case_email_cannot_be_stored(db: Database) -> None:
    async with db.unit_of_work() as uow:
        try:
            await UserRepository(uow.session).add("Ada@Example.com", "h", "Ada", "student")
        except Exception as error:  # the CHECK constraint, raised by the driver
            assert "email_normalised" in str(error)
        else:
            raise AssertionError("an un-normalised email was accepted")


async def test_update_changes_only_the_given_fields(db: Database) -> None:
    user = await add_user(db)
    now = datetime.now(UTC)
    async with db.unit_of_work() as uow:
        updated = await UserRepository(uow.session).update(user.id, password_hash="new", now=now)
        await uow.commit()
    assert updated is not None
    assert (updated.full_name, updated.password_hash) == ("Ada", "new")
    assert updated.password_changed_at == now


async def test_only_instructors_have_a_profile_and_a_new_one_has_no_totals(db: Database) -> None:
    student, instructor = await add_user(db), await add_user(db, "instructor")
    async with db.unit_of_work() as uow:
        users = UserRepository(uow.session)
        assert await users.instructor(student.id) is None
        found = await users.instructor(instructor.id)
        assert found is not None and found[1].expertise == []
        totals = await users.instructor_totals(instructor.id)
    assert (totals.total_courses, totals.total_students) == (0, 0)


async def start_session(db: Database, user_id: int, family: str, token_hash: str) -> None:
    async with db.unit_of_work() as uow:
        expires = datetime.now(UTC) + timedelta(days=1)
        await SessionRepository(uow.session).add_token(user_id, family, token_hash, expires)
        await uow.commit()


async def use(db: Database, token_hash: str) -> RefreshToken | None:
    async with db.unit_of_work() as uow:
        used = await SessionRepository(uow.session).use_token(token_hash, datetime.now(UTC))
        await uow.commit()
        return used


async def test_of_two_concurrent_uses_of_a_token_exactly_one_wins(db: Database) -> None:
    user = await add_user(db)
    token_hash = uuid.uuid4().hex
    await start_session(db, user.id, str(uuid.uuid4()), token_hash)
    results = await asyncio.gather(*(use(db, token_hash) for _ in range(5)))
    assert sum(result is not None for result in results) == 1


async def test_an_expired_or_revoked_token_cannot_be_used(db: Database) -> None:
    user = await add_user(db)
    family, revoked = str(uuid.uuid4()), uuid.uuid4().hex
    await start_session(db, user.id, family, revoked)
    async with db.unit_of_work() as uow:
        await SessionRepository(uow.session).revoke_family(family, datetime.now(UTC))
        await uow.commit()
    assert await use(db, revoked) is None
    expired = uuid.uuid4().hex
    async with db.unit_of_work() as uow:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await SessionRepository(uow.session).add_token(user.id, family, expired, past)
        await uow.commit()
    assert await use(db, expired) is None


async def test_revoking_a_user_ends_every_open_session(db: Database) -> None:
    user, other = await add_user(db), await add_user(db)
    families = {str(uuid.uuid4()) for _ in range(3)}
    for family in families:
        await start_session(db, user.id, family, uuid.uuid4().hex)
    others_token = uuid.uuid4().hex
    await start_session(db, other.id, str(uuid.uuid4()), others_token)
    async with db.unit_of_work() as uow:
        ended = await SessionRepository(uow.session).revoke_user(user.id, datetime.now(UTC))
        await uow.commit()
    assert ended == families
    assert await use(db, others_token) is not None

"""The users service (in the ingress process): accounts, profiles and login sessions.

Only the gateway calls it, with a principal it has verified; every method answers plain
JSON-able dicts. bcrypt runs in a worker thread so one replica keeps serving while it hashes.
"""

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from core.credentials import PasswordHasher, email_problem, normalise_email, password_problem
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.events import UserRegisteredData, make_event
from core.identity import Principal, Role
from core.settings import Settings
from core.users import (
    InstructorUpdate,
    InstructorView,
    LoginAttempt,
    RefreshRequest,
    Registration,
    SessionEnd,
    UserUpdate,
    UserView,
    visible_profile,
)
from serve.resources import Resources
from serve.sessions import Sessions
from storage.db import Database, UnitOfWork
from storage.login_throttle import LoginLimits, LoginThrottle
from storage.repositories.session import SessionRepository
from storage.repositories.user import User, UserRepository
from storage.revocations import SessionRevocations
from storage.user_cache import UserCache

log = logging.getLogger(__name__)


def user_view(user: User) -> dict[str, Any]:
    return UserView.model_validate(user, from_attributes=True).model_dump(mode="json")


async def add_account(
    uow: UnitOfWork, password_hash: str, email: str, full_name: str, role: Role
) -> User:
    """Insert a user (and an instructor's profile) and emit `user.registered` in the same
    transaction; Conflict when the email is taken. The caller commits."""
    users = UserRepository(uow.session)
    user = await users.add(email, password_hash, full_name, str(role))
    if user is None:
        raise Conflict(
            "An account with this email already exists",
            [{"field": "email", "message": "is already registered"}],
        )
    if role is Role.INSTRUCTOR:
        await users.add_instructor_profile(user.id)
    data = UserRegisteredData(user_id=user.id, role=str(role))
    uow.emit(make_event("user.registered", str(user.id), data, source="users"))
    return user


class Users:
    def __init__(self, resources: Resources) -> None:
        settings, redis = resources.settings, resources.redis
        self._db = resources.db
        self._hasher = PasswordHasher(settings.bcrypt_rounds)
        self._cache = UserCache(redis, settings.user_cache_ttl_seconds)
        limits = LoginLimits(
            free_failures=settings.login_free_failures,
            backoff_max_seconds=settings.login_backoff_max_seconds,
            per_ip=settings.login_failures_per_ip,
            ip_window_seconds=settings.login_ip_window_seconds,
            alarm_failures=settings.login_failures_per_account,
            alarm_window_seconds=settings.login_failure_window_seconds,
        )
        throttle = LoginThrottle(redis, limits)
        revocations = SessionRevocations(redis, settings.access_token_ttl_seconds)
        self._sessions = Sessions(settings, self._db, self._hasher, throttle, revocations)

    async def register(self, registration: Registration) -> dict[str, Any]:
        password = registration.password.get_secret_value()
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with self._db.unit_of_work() as uow:
            user = await add_account(
                uow,
                password_hash,
                registration.email,
                registration.full_name,
                Role(registration.role),
            )
            await uow.commit()
            view = user_view(user)
        log.info("event=user_registered user_id=%s role=%s", view["id"], view["role"])
        return view

    async def login(self, attempt: LoginAttempt) -> dict[str, Any]:
        return (await self._sessions.login(attempt)).model_dump()

    async def refresh(self, request: RefreshRequest) -> dict[str, Any]:
        return (await self._sessions.refresh(request)).model_dump()

    async def logout(self, principal: Principal, request: RefreshRequest) -> None:
        end = SessionEnd(user_id=principal.user_id, refresh_token=request.refresh_token)
        await self._sessions.logout(end)

    async def get_user(self, principal: Principal, user_id: int) -> dict[str, Any]:
        """The user and admins see the whole account; anyone else its public profile."""
        view = await self._cache.get(user_id)
        if view is None:
            async with self._db.unit_of_work() as uow:
                user = await UserRepository(uow.session).get(user_id)
                if user is None:
                    raise NotFound("No such user")
                view = user_view(user)
            await self._cache.put(user_id, view)
        return visible_profile(principal.may_act_for(user_id), view)

    async def update_user(
        self, principal: Principal, user_id: int, update: UserUpdate
    ) -> dict[str, Any]:
        """Self or admin; a password change ends every session of the user."""
        if not principal.may_act_for(user_id):
            raise Forbidden("You may only change your own account")
        password_hash = None
        if update.password is not None:
            secret = update.password.get_secret_value()
            password_hash = await asyncio.to_thread(self._hasher.hash, secret)
        now = datetime.now(UTC)
        async with self._db.unit_of_work() as uow:
            user = await UserRepository(uow.session).update(
                user_id, full_name=update.full_name, password_hash=password_hash, now=now
            )
            if user is None:
                raise NotFound("No such user")
            ended: set[str] = set()
            if password_hash:
                ended = await SessionRepository(uow.session).revoke_user(user_id, now)
            await uow.commit()
            view = user_view(user)
        await self._sessions.revocations.revoke(ended)
        await self._cache.drop(user_id)
        if password_hash:
            log.info("event=password_changed user_id=%s sessions_ended=%d", user_id, len(ended))
        return view

    async def get_instructor(self, principal: Principal, user_id: int) -> dict[str, Any]:
        async with self._db.unit_of_work() as uow:
            users = UserRepository(uow.session)
            found = await users.instructor(user_id)
            if found is None:
                raise NotFound("No such instructor")
            totals = await users.instructor_totals(user_id)
            user, profile = found
            return InstructorView(
                user_id=user.id,
                full_name=user.full_name,
                bio=profile.bio,
                expertise=list(profile.expertise),
                total_courses=totals.total_courses,
                total_students=totals.total_students,
            ).model_dump()

    async def update_instructor(
        self, principal: Principal, user_id: int, update: InstructorUpdate
    ) -> dict[str, Any]:
        if not principal.may_act_for(user_id):
            raise Forbidden("You may only change your own profile")
        async with self._db.unit_of_work() as uow:
            users = UserRepository(uow.session)
            if await users.instructor(user_id) is None:
                raise NotFound("No such instructor")
            await users.update_instructor(user_id, bio=update.bio, expertise=update.expertise)
            await uow.commit()
        return await self.get_instructor(principal, user_id)


async def create_admin(settings: Settings, email: str, full_name: str, password: str) -> dict:
    """An administrator account (the CLI's `create-admin`; admins cannot register over HTTP)."""
    email = normalise_email(email)
    problems = [
        {"field": field, "message": problem}
        for field, problem in (
            ("email", email_problem(email)),
            ("password", password_problem(password)),
        )
        if problem
    ]
    if not full_name.strip():
        problems.append({"field": "full_name", "message": "must not be empty"})
    if problems:
        raise ValidationFailed("Invalid administrator details", problems)
    password_hash = PasswordHasher(settings.bcrypt_rounds).hash(password)
    db = Database(settings)
    try:
        async with db.unit_of_work() as uow:
            user = await add_account(uow, password_hash, email, full_name.strip(), Role.ADMIN)
            await uow.commit()
            view = user_view(user)
    finally:
        await db.dispose()
    log.info("event=admin_created user_id=%s", view["id"])
    return view

"""Signing up and logging in over HTTP, for any e2e test that needs a caller."""

import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import insert

from benchmarks.population import UNUSABLE_HASH
from core.identity import Role
from core.settings import Settings
from core.tokens import issue_access_token, new_session_id
from storage.db import Database
from storage.models.user import User

PASSWORD = "correct horse battery"


@dataclass
class Account:
    id: int
    email: str
    role: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def new_email() -> str:
    return f"user-{uuid.uuid4().hex}@example.com"


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


async def sign_up(
    client: httpx.AsyncClient, role: str = "student", full_name: str = "Ada Lovelace"
) -> Account:
    """A fresh registered and logged-in account."""
    email = new_email()
    body = {"email": email, "password": PASSWORD, "full_name": full_name, "role": role}
    registered = await client.post("/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    tokens = await login(client, email)
    return Account(
        registered.json()["id"], email, role, tokens["access_token"], tokens["refresh_token"]
    )


async def many_accounts(settings: Settings, count: int, role: str = "student") -> list[Account]:
    """`count` accounts written through the storage layer with minted tokens: registering them
    over HTTP would spend the per-IP limit of the anonymous routes that every test shares."""
    tag = uuid.uuid4().hex
    rows = [
        {
            "email": f"bulk-{tag}-{n}@example.com",
            "password_hash": UNUSABLE_HASH,
            "full_name": f"{role.title()} {n}",
            "role": role,
        }
        for n in range(count)
    ]
    db = Database(settings)
    try:
        async with db.unit_of_work() as uow:
            ids = list(await uow.session.scalars(insert(User).returning(User.id), rows))
            await uow.commit()
    finally:
        await db.dispose()
    secret = settings.require_jwt_secret()
    ttl = settings.access_token_ttl_seconds
    return [
        Account(
            user_id,
            row["email"],
            role,
            issue_access_token(
                secret,
                user_id=user_id,
                role=Role(role),
                session_id=new_session_id(),
                ttl_seconds=ttl,
            ),
            "",
        )
        for user_id, row in zip(ids, rows, strict=True)
    ]


async def account(settings: Settings, role: str = "student") -> Account:
    return (await many_accounts(settings, 1, role))[0]

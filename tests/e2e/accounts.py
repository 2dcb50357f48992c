"""Signing up and logging in over HTTP, for any e2e test that needs a caller."""

import uuid
from dataclasses import dataclass

import httpx

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

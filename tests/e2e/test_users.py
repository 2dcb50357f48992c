"""User and instructor profiles over real HTTP: who may read and change what, and that a
refused or invalid change writes nothing."""

import uuid

import httpx
from sqlalchemy import select

from serve.users import create_admin
from storage.db import Database
from storage.models.user import User
from tests.conftest import System
from tests.e2e.accounts import PASSWORD, Account, login, sign_up
from tests.e2e.test_gateway import assert_envelope


async def stored_name(db: Database, user_id: int) -> str:
    async with db.unit_of_work() as uow:
        return await uow.session.scalar(select(User.full_name).where(User.id == user_id))


async def admin_account(client: httpx.AsyncClient, system: System) -> Account:
    email = f"admin-{uuid.uuid4().hex}@example.com"
    user = await create_admin(system.settings, email, "Root", PASSWORD)
    tokens = await login(client, email)
    return Account(user["id"], email, "admin", tokens["access_token"], tokens["refresh_token"])


async def test_me_and_users_id_answer_the_user(client: httpx.AsyncClient) -> None:
    account, other = await sign_up(client), await sign_up(client)
    me = (await client.get("/auth/me", headers=account.headers)).json()
    assert me["id"] == account.id and me["email"] == account.email
    assert (await client.get(f"/users/{account.id}", headers=account.headers)).json() == me
    seen = await client.get(f"/users/{other.id}", headers=account.headers)
    assert seen.status_code == 200 and "password" not in seen.text


async def test_missing_user_is_404_and_anonymous_is_401(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    assert_envelope(await client.get("/users/999999999", headers=account.headers), 404, "not_found")
    assert_envelope(await client.get(f"/users/{account.id}"), 401, "unauthorized")


async def test_out_of_range_ids_are_422(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    for bad in ("0", "99999999999999999999", "abc"):
        response = await client.get(f"/users/{bad}", headers=account.headers)
        assert_envelope(response, 422, "validation_error")


async def test_own_name_change_is_visible_at_once(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    await client.get(f"/users/{account.id}", headers=account.headers)  # now cached
    response = await client.put(
        f"/users/{account.id}", json={"full_name": "Ada King"}, headers=account.headers
    )
    assert response.status_code == 200 and response.json()["full_name"] == "Ada King"
    me = await client.get("/auth/me", headers=account.headers)
    assert me.json()["full_name"] == "Ada King"


async def test_changing_another_users_profile_is_403_and_writes_nothing(
    client: httpx.AsyncClient, db: Database
) -> None:
    victim, intruder = await sign_up(client), await sign_up(client, role="instructor")
    response = await client.put(
        f"/users/{victim.id}", json={"full_name": "Pwned"}, headers=intruder.headers
    )
    assert_envelope(response, 403, "forbidden")
    assert await stored_name(db, victim.id) == "Ada Lovelace"


async def test_an_admin_may_change_another_user(client: httpx.AsyncClient, system: System) -> None:
    admin, student = await admin_account(client, system), await sign_up(client)
    response = await client.put(
        f"/users/{student.id}", json={"full_name": "Renamed"}, headers=admin.headers
    )
    assert response.status_code == 200 and response.json()["full_name"] == "Renamed"


async def test_invalid_updates_are_422_and_write_nothing(
    client: httpx.AsyncClient, db: Database
) -> None:
    account = await sign_up(client)
    for change, field in (
        ({"password": "short"}, "password"),
        ({"full_name": ""}, "full_name"),
        ({"role": "admin"}, "role"),
    ):
        response = await client.put(f"/users/{account.id}", json=change, headers=account.headers)
        error = assert_envelope(response, 422, "validation_error")
        assert [d["field"] for d in error["details"]] == [field]
    assert await stored_name(db, account.id) == "Ada Lovelace"
    assert (await client.get("/auth/me", headers=account.headers)).json()["role"] == "student"
    await login(client, account.email)  # the password did not change


async def test_password_change_ends_every_session(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    second = await login(client, account.email)
    response = await client.put(
        f"/users/{account.id}", json={"password": "brand new password"}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    assert "brand new password" not in response.text
    second_headers = {"Authorization": f"Bearer {second['access_token']}"}
    for headers in (account.headers, second_headers):
        assert_envelope(await client.get("/auth/me", headers=headers), 401, "unauthorized")
    refresh = await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_envelope(refresh, 401, "unauthorized")
    old = await client.post("/auth/login", json={"email": account.email, "password": PASSWORD})
    assert_envelope(old, 401, "unauthorized")
    await login(client, account.email, "brand new password")


async def test_instructor_profile_is_created_and_editable_by_its_owner(
    client: httpx.AsyncClient,
) -> None:
    instructor = await sign_up(client, role="instructor")
    profile = (await client.get(f"/instructors/{instructor.id}", headers=instructor.headers)).json()
    assert profile == {
        "user_id": instructor.id,
        "full_name": "Ada Lovelace",
        "bio": "",
        "expertise": [],
        "total_courses": 0,
        "total_students": 0,
    }
    change = {"bio": "Analytical engines.", "expertise": ["math", "computing"]}
    response = await client.put(
        f"/instructors/{instructor.id}", json=change, headers=instructor.headers
    )
    assert response.status_code == 200
    assert response.json() | change == response.json()


async def test_instructor_profiles_refuse_strangers_and_students(
    client: httpx.AsyncClient,
) -> None:
    instructor, other = await sign_up(client, "instructor"), await sign_up(client, "instructor")
    student = await sign_up(client)
    response = await client.put(
        f"/instructors/{instructor.id}", json={"bio": "Pwned"}, headers=other.headers
    )
    assert_envelope(response, 403, "forbidden")
    profile = await client.get(f"/instructors/{instructor.id}", headers=other.headers)
    assert profile.json()["bio"] == ""
    missing = await client.get(f"/instructors/{student.id}", headers=student.headers)
    assert_envelope(missing, 404, "not_found")

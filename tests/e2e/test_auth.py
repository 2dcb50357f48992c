"""Registration, login, token rotation, logout and token verification over real HTTP."""

import asyncio
import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import ray
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from core.identity import Role
from core.tokens import issue_access_token
from storage.db import Database
from storage.models.user import RefreshToken, User
from tests.conftest import System
from tests.e2e.accounts import PASSWORD, login, new_email, sign_up
from tests.e2e.catalog import poll
from tests.e2e.test_gateway import assert_envelope


async def user_rows(db: Database, email: str) -> int:
    async with db.unit_of_work() as uow:
        query = select(func.count()).select_from(User).where(User.email == email.lower())
        return await uow.session.scalar(query)


async def session_rows(db: Database) -> int:
    async with db.unit_of_work() as uow:
        return await uow.session.scalar(select(func.count()).select_from(RefreshToken))


def body(email: str, password: str = PASSWORD, role: str = "student") -> dict:
    return {"email": email, "password": password, "full_name": "Ada", "role": role}


async def test_register_answers_the_user_without_any_secret(client: httpx.AsyncClient) -> None:
    email = new_email()
    response = await client.post("/auth/register", json=body(email.upper(), role="instructor"))
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == {"id", "email", "full_name", "role", "created_at"}
    assert (user["email"], user["role"]) == (email, "instructor")
    assert PASSWORD not in response.text and "bcrypt" not in response.text


async def test_bad_email_is_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, db: Database
) -> None:
    response = await client.post("/auth/register", json=body("not-an-email"))
    error = assert_envelope(response, 422, "validation_error")
    assert [d["field"] for d in error["details"]] == ["email"]
    assert await user_rows(db, "not-an-email") == 0


async def test_short_password_is_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, db: Database
) -> None:
    email = new_email()
    response = await client.post("/auth/register", json=body(email, password="short"))
    error = assert_envelope(response, 422, "validation_error")
    assert [d["field"] for d in error["details"]] == ["password"]
    assert "short" not in response.text
    assert await user_rows(db, email) == 0


async def test_admins_cannot_register_over_http(client: httpx.AsyncClient, db: Database) -> None:
    email = new_email()
    error = assert_envelope(
        await client.post("/auth/register", json=body(email, role="admin")), 422, "validation_error"
    )
    assert [d["field"] for d in error["details"]] == ["role"]
    assert await user_rows(db, email) == 0


async def test_duplicate_email_in_another_case_is_409(
    client: httpx.AsyncClient, db: Database
) -> None:
    email = new_email()
    assert (await client.post("/auth/register", json=body(email))).status_code == 201
    assert_envelope(await client.post("/auth/register", json=body(email.upper())), 409, "conflict")
    assert await user_rows(db, email) == 1


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert_envelope(response, 400, "malformed_json")


async def test_login_answers_a_bearer_token_pair(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    tokens = await login(client, account.email.upper())
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 15 * 60
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == account.id


async def test_login_accepts_the_oauth2_password_form(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    form = {"grant_type": "password", "username": account.email, "password": PASSWORD}
    response = await client.post("/auth/login", data=form)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    spec = (await client.get("/openapi.json")).json()
    assert (
        spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"][
            "tokenUrl"
        ]
        == "/auth/login"
    )


async def test_wrong_password_and_unknown_email_get_the_same_401(
    client: httpx.AsyncClient, db: Database
) -> None:
    account = await sign_up(client)
    sessions_before = await session_rows(db)
    wrong = await client.post("/auth/login", json={"email": account.email, "password": "x" * 9})
    unknown = await client.post("/auth/login", json={"email": new_email(), "password": PASSWORD})
    assert_envelope(wrong, 401, "unauthorized")
    assert wrong.json() == unknown.json()
    assert await session_rows(db) == sessions_before


async def test_repeated_failures_slow_the_pair_but_the_owner_gets_in_within_a_minute(
    client: httpx.AsyncClient, system: System
) -> None:
    account = await sign_up(client)
    wrong = {"email": account.email, "password": "wrong password"}
    for _ in range(system.settings.login_free_failures + 2):
        response = await client.post("/auth/login", json=wrong)
        if response.status_code == 429:
            break
        assert response.status_code == 401
    # The pair backs off: even the right password waits, but never longer than the cap.
    right = {"email": account.email, "password": PASSWORD}
    refused = await client.post("/auth/login", json=right)
    assert_envelope(refused, 429, "rate_limited")
    assert 0 < int(refused.headers["retry-after"]) <= system.settings.login_backoff_max_seconds

    async def logged_in() -> bool:
        return (await client.post("/auth/login", json=right)).status_code == 200

    await poll(logged_in, within=system.settings.login_backoff_max_seconds)


async def test_refresh_rotates_and_reusing_an_old_token_ends_the_session(
    client: httpx.AsyncClient,
) -> None:
    account = await sign_up(client)
    rotated = await client.post("/auth/refresh", json={"refresh_token": account.refresh_token})
    assert rotated.status_code == 200, rotated.text
    fresh = rotated.json()
    assert fresh["refresh_token"] != account.refresh_token
    new_headers = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert (await client.get("/auth/me", headers=new_headers)).status_code == 200

    reuse = await client.post("/auth/refresh", json={"refresh_token": account.refresh_token})
    assert_envelope(reuse, 401, "unauthorized")
    # The whole family is revoked: the newest refresh token and its access token are dead too.
    again = await client.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert_envelope(again, 401, "unauthorized")
    assert_envelope(await client.get("/auth/me", headers=new_headers), 401, "unauthorized")


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/refresh", json={"refresh_token": "made-up"})
    assert_envelope(response, 401, "unauthorized")


async def test_logout_ends_that_session_only(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    other = await login(client, account.email)
    response = await client.post(
        "/auth/logout", json={"refresh_token": account.refresh_token}, headers=account.headers
    )
    assert response.status_code == 204, response.text
    assert_envelope(await client.get("/auth/me", headers=account.headers), 401, "unauthorized")
    refresh = await client.post("/auth/refresh", json={"refresh_token": account.refresh_token})
    assert_envelope(refresh, 401, "unauthorized")
    other_headers = {"Authorization": f"Bearer {other['access_token']}"}
    assert (await client.get("/auth/me", headers=other_headers)).status_code == 200


async def test_logout_with_someone_elses_refresh_token_ends_nothing(
    client: httpx.AsyncClient,
) -> None:
    victim, intruder = await sign_up(client), await sign_up(client)
    response = await client.post(
        "/auth/logout", json={"refresh_token": victim.refresh_token}, headers=intruder.headers
    )
    assert_envelope(response, 404, "not_found")
    assert (await client.get("/auth/me", headers=victim.headers)).status_code == 200


def b64(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def claims_for(user_id: int) -> dict:
    now = datetime.now(UTC)
    return {
        "sub": str(user_id),
        "role": "admin",
        "sid": "s",
        "jti": "j",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }


async def test_missing_expired_tampered_and_foreign_algorithm_tokens_are_401(
    client: httpx.AsyncClient, system: System
) -> None:
    account = await sign_up(client)
    secret = system.settings.require_jwt_secret()
    expired = issue_access_token(
        secret,
        user_id=account.id,
        role=Role.STUDENT,
        session_id="s",
        ttl_seconds=60,
        now=datetime.now(UTC) - timedelta(minutes=5),
    )
    header, payload, signature = account.access_token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered = f"{header}.{b64(decoded | {'role': 'admin'})}.{signature}"
    unix = {
        k: int(v.timestamp()) if isinstance(v, datetime) else v
        for k, v in claims_for(account.id).items()
    }
    alg_none = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(unix)}."
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs256 = jwt.encode(claims_for(account.id), rsa_key, algorithm="RS256")
    assert_envelope(await client.get("/auth/me"), 401, "unauthorized")
    for token in (expired, tampered, alg_none, rs256, "garbage"):
        response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert_envelope(response, 401, "unauthorized")


def ray_log_text() -> str:
    logs = Path(ray._private.worker._global_node.get_logs_dir_path())
    return "\n".join(path.read_text(errors="replace") for path in logs.rglob("*") if path.is_file())


async def test_no_log_line_contains_a_password_or_a_hash(client: httpx.AsyncClient) -> None:
    secret = f"pw-{uuid.uuid4().hex}"
    email = new_email()
    registered = await client.post("/auth/register", json=body(email, password=secret))
    user_id = registered.json()["id"]
    await login(client, email, secret)
    await client.post("/auth/login", json={"email": email, "password": f"{secret}-wrong"})
    # A refused request that carries a password must not leak it either.
    await client.put(f"/users/{user_id}", json={"password": secret + "2"})
    deadline = time.monotonic() + 20
    marker = f"event=user_registered user_id={user_id} "
    while marker not in (text := ray_log_text()):
        assert time.monotonic() < deadline, "the users service's log lines never appeared"
        await asyncio.sleep(0.2)
    assert secret not in text
    assert "$bcrypt" not in text

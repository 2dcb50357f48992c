"""The contract rules of API.md at the edge, over real HTTP: control characters, int64 bounds
and strict integers answer 422, deep or non-UTF-8 JSON 400/415, partial PUT, the public
profile, prerequisite ids that reveal nothing, and error statuses in the OpenAPI document.
Every refusal is an error envelope and writes nothing."""

import json

import httpx
from sqlalchemy import func, select

from storage.db import Database
from storage.models.course import Course
from storage.models.user import User
from tests.conftest import System
from tests.e2e.accounts import PASSWORD, account, new_email
from tests.e2e.catalog import draft_course
from tests.e2e.test_gateway import assert_envelope

COURSE = {"title": "T", "description": "D", "category": "c", "level": "beginner"}


async def count_users(db: Database, email: str) -> int:
    async with db.unit_of_work() as uow:
        return await uow.session.scalar(select(func.count()).where(User.email == email))


async def course_titles(db: Database, instructor_id: int) -> list[str]:
    async with db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(Course.title).where(Course.instructor_id == instructor_id)
        )
        return list(rows)


async def test_nul_in_public_text_fields_is_422_not_500(
    client: httpx.AsyncClient, db: Database
) -> None:
    email = new_email()
    register = {"email": email, "password": PASSWORD, "full_name": "Ada\x00", "role": "student"}
    assert_envelope(await client.post("/auth/register", json=register), 422, "validation_error")
    assert await count_users(db, email) == 0
    nul_email = {"email": "a\x00@example.com", "password": PASSWORD}
    assert_envelope(await client.post("/auth/login", json=nul_email), 422, "validation_error")
    assert_envelope(await client.get("/courses", params={"q": "a\x00"}), 422, "validation_error")
    assert_envelope(await client.get("/certificates/verify/AB%00CD"), 422, "validation_error")
    # Before and after: the same field without the NUL is accepted.
    assert (await client.get("/courses", params={"q": "a"})).status_code == 200


async def test_control_characters_in_course_text_write_nothing(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner = await account(system.settings, "instructor")
    for field, value in (("title", "T\x00"), ("category", "c\x1b"), ("description", "D\x00")):
        response = await client.post(
            "/courses", json=COURSE | {field: value}, headers=owner.headers
        )
        error = assert_envelope(response, 422, "validation_error")
        assert error["details"][0]["field"] == field
    assert await course_titles(db, owner.id) == []
    long_text = COURSE | {"description": "line one\n\tline two"}
    assert (await client.post("/courses", json=long_text, headers=owner.headers)).status_code == 201


async def test_integers_are_strict_and_within_int64(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner = await account(system.settings, "instructor")
    for bad in ({"prerequisite_ids": [2**63]}, {"pass_threshold": False}, {"pass_threshold": "50"}):
        response = await client.post("/courses", json=COURSE | bad, headers=owner.headers)
        assert_envelope(response, 422, "validation_error")
    enroll = await client.post("/enrollments", json={"course_id": True}, headers=owner.headers)
    assert_envelope(enroll, 422, "validation_error")
    assert await course_titles(db, owner.id) == []


async def test_deep_and_non_utf8_json_is_refused_before_parsing(
    client: httpx.AsyncClient, db: Database
) -> None:
    deep = "[" * 1000 + "]" * 1000
    headers = {"content-type": "application/json"}
    for path in ("/auth/login", "/auth/register"):
        response = await client.post(path, content=deep, headers=headers)
        assert_envelope(response, 400, "malformed_json")
    nested = {"email": new_email(), "password": PASSWORD, "full_name": "A", "role": "student"}
    value: object = "x"
    for _ in range(40):
        value = [value]
    too_deep = nested | {"extra": value}
    response = await client.post("/auth/register", json=too_deep)
    assert_envelope(response, 400, "malformed_json")
    assert await count_users(db, nested["email"]) == 0
    utf16 = json.dumps(nested).encode("utf-16")
    response = await client.post("/auth/register", content=utf16, headers=headers)
    assert_envelope(response, 400, "malformed_json")
    declared = {"content-type": "application/json; charset=utf-16"}
    response = await client.post("/auth/register", content=utf16, headers=declared)
    assert_envelope(response, 415, "unsupported_media_type")
    assert await count_users(db, nested["email"]) == 0


async def test_put_is_partial_for_courses_and_modules(
    client: httpx.AsyncClient, system: System
) -> None:
    owner = await account(system.settings, "instructor")
    course = await draft_course(client, owner, modules=1, lessons=1)
    cid, mid = course["id"], course["modules"][0]["id"]
    response = await client.put(
        f"/courses/{cid}", json={"pass_threshold": 55}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["pass_threshold"] == 55
    assert response.json()["title"] == course["title"]
    assert_envelope(
        await client.put(f"/courses/{cid}", json={"title": None}, headers=owner.headers),
        422,
        "validation_error",
    )
    moved = await client.put(
        f"/courses/{cid}/modules/{mid}", json={"position": 3}, headers=owner.headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["title"] == course["modules"][0]["title"]
    current = (await client.get(f"/courses/{cid}", headers=owner.headers)).json()
    assert current["title"] == course["title"] and current["pass_threshold"] == 55


async def test_other_users_see_only_the_public_profile(
    client: httpx.AsyncClient, system: System
) -> None:
    reader, target = await account(system.settings), await account(system.settings, "instructor")
    seen = await client.get(f"/users/{target.id}", headers=reader.headers)
    assert seen.status_code == 200
    assert seen.json() == {"id": target.id, "full_name": "Instructor 0", "role": "instructor"}
    own = await client.get(f"/users/{target.id}", headers=target.headers)
    assert own.json()["email"] == target.email


async def test_prerequisite_ids_do_not_reveal_drafts(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner, prober = (
        await account(system.settings, "instructor"),
        await account(system.settings, "instructor"),
    )
    draft = (await client.post("/courses", json=COURSE, headers=owner.headers)).json()
    missing = 2**62
    answers = []
    for prerequisite in (draft["id"], missing):
        response = await client.post(
            "/courses", json=COURSE | {"prerequisite_ids": [prerequisite]}, headers=prober.headers
        )
        error = assert_envelope(response, 422, "validation_error")
        answers.append(error["message"])
    assert answers[0] == answers[1]
    assert await course_titles(db, prober.id) == []
    # The owner may build on their own draft.
    own = COURSE | {"prerequisite_ids": [draft["id"]]}
    assert (await client.post("/courses", json=own, headers=owner.headers)).status_code == 201


async def test_openapi_lists_error_statuses_with_the_envelope(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    responses = spec["paths"]["/courses/{course_id}"]["put"]["responses"]
    for status in ("400", "401", "403", "404", "409", "413", "422", "429", "503"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


async def test_security_headers_on_answers_and_errors(
    client: httpx.AsyncClient, system: System
) -> None:
    user = await account(system.settings)
    for response in (
        await client.get("/healthz"),
        await client.get("/users/abc", headers=user.headers),
        await client.post("/auth/login", json={"email": "x@example.com", "password": "wrong1234"}),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "server" not in response.headers


async def test_docs_load_swagger_ui_from_this_host(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200 and "cdn." not in page.text
    assert (await client.get("/docs/assets/swagger-ui-bundle.js")).status_code == 200

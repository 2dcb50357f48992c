"""Every list pages (API.md, Contract rules): `{items, page, page_size, total}` on my-courses,
notifications (with the unread count) and certificates; a page beyond the end is empty with
the right total; bad paging parameters answer 422."""

import httpx
import pytest

from storage.db import Database
from tests.conftest import System
from tests.e2e import rows
from tests.e2e.accounts import account
from tests.e2e.test_gateway import assert_envelope


async def pages(client: httpx.AsyncClient, path: str, headers: dict, **params) -> list[dict]:
    """Pages 1.. of size 2 and the first page beyond the end."""
    found = []
    for page in range(1, 10):
        answer = await client.get(
            path, params={"page": page, "page_size": 2} | params, headers=headers
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["page"] == page and body["page_size"] == 2
        found.append(body)
        if not body["items"]:
            return found
    raise AssertionError("the pages never ended")


async def test_my_courses_pages_newest_first(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    ids = await rows.enrollments(db, student.id, await rows.courses(db, owner.id, 5))
    found = await pages(client, "/enrollments/my-courses", student.headers)
    assert [len(p["items"]) for p in found] == [2, 2, 1, 0]
    assert {p["total"] for p in found} == {5}
    listed = [e["id"] for p in found for e in p["items"]]
    assert listed == ids[::-1]
    default = (await client.get("/enrollments/my-courses", headers=student.headers)).json()
    assert default["page"] == 1 and default["page_size"] == 20 and len(default["items"]) == 5


async def test_notifications_page_with_the_unread_count(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    user = await account(system.settings)
    await rows.notifications(db, user.id, 5)
    found = await pages(client, "/notifications", user.headers)
    assert [len(p["items"]) for p in found] == [2, 2, 1, 0]
    assert {(p["total"], p["unread"]) for p in found} == {(5, 5)}
    first = found[0]["items"][0]["id"]
    read = await client.post(f"/notifications/{first}/read", headers=user.headers)
    assert read.status_code == 204
    unread = await pages(client, "/notifications", user.headers, unread="true")
    assert {(p["total"], p["unread"]) for p in unread} == {(4, 4)}
    assert first not in [n["id"] for p in unread for n in p["items"]]
    everything = (await client.get("/notifications", headers=user.headers)).json()
    assert (everything["total"], everything["unread"]) == (5, 4)


async def test_certificates_list_only_the_callers_own(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    other = await account(system.settings)
    course_ids = await rows.courses(db, owner.id, 3)
    enrollment_ids = await rows.enrollments(db, student.id, course_ids, status="completed")
    await rows.certificates(db, student.id, enrollment_ids)
    found = await pages(client, "/certificates", student.headers)
    assert [len(p["items"]) for p in found] == [2, 1, 0]
    assert {p["total"] for p in found} == {3}
    assert sorted(c["enrollment_id"] for p in found for c in p["items"]) == enrollment_ids
    theirs = (await client.get("/certificates", headers=other.headers)).json()
    assert theirs == {"items": [], "page": 1, "page_size": 20, "total": 0}
    assert (await client.get("/certificates")).status_code == 401


@pytest.mark.parametrize("path", ["/enrollments/my-courses", "/notifications", "/certificates"])
@pytest.mark.parametrize(
    "params", [{"page": 0}, {"page_size": 0}, {"page_size": 101}, {"page": "x"}]
)
async def test_bad_paging_answers_422(
    client: httpx.AsyncClient, system: System, path: str, params: dict
) -> None:
    user = await account(system.settings)
    answer = await client.get(path, params=params, headers=user.headers)
    assert_envelope(answer, 422, "validation_error")

"""The roster and the gradebook over HTTP: owner and admin only, paged and sorted, bad sort keys
refused, and the CSV with one row per enrollment (best quiz score, % done per module)."""

import csv
import io

import httpx
import pytest

from tests.conftest import System
from tests.e2e.accounts import Account, account, many_accounts
from tests.e2e.catalog import enrolled, published_course
from tests.e2e.test_gateway import assert_envelope


@pytest.fixture(scope="module")
async def taught(client: httpx.AsyncClient, system: System) -> dict:
    """A published course (2 modules: 2 lessons, then 2 lessons and a quiz) with three students:
    Student 0 finished module 0, Student 1 passed the quiz on the second try, Student 2 idle."""
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, quiz=True)
    students = await many_accounts(system.settings, 3)
    enrollments = [await enrolled(client, s, course["id"]) for s in students]
    first, second = (m["lessons"] for m in course["modules"])
    for lesson in first:
        done = await client.post(f"/lessons/{lesson['id']}/complete", headers=students[0].headers)
        assert done.status_code == 200, done.text
    quiz = second[-1]["id"]
    for answers in ([0, 1], [1, 0]):
        sent = await client.post(
            f"/quizzes/{quiz}/submit", json={"answers": answers}, headers=students[1].headers
        )
        assert sent.status_code == 200, sent.text
    return {"owner": owner, "course": course, "students": students, "enrollments": enrollments}


async def roster(client: httpx.AsyncClient, caller: Account, course_id: int, **params):
    return await client.get(f"/courses/{course_id}/students", params=params, headers=caller.headers)


async def test_roster_lists_every_learner_with_progress(
    client: httpx.AsyncClient, taught: dict
) -> None:
    answer = await roster(client, taught["owner"], taught["course"]["id"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["page"], body["page_size"], body["total"]) == (1, 20, 3)
    by_name = {e["full_name"]: e for e in body["items"]}
    assert [e["full_name"] for e in body["items"]] == ["Student 0", "Student 1", "Student 2"]
    zero, one, two = (by_name[f"Student {n}"] for n in range(3))
    assert zero["completion_percentage"] == 40.0 and zero["quiz_average"] is None
    assert one["completion_percentage"] == 20.0 and one["quiz_average"] == 100.0
    assert two["completion_percentage"] == 0 and zero["status"] == "active"
    assert zero["last_accessed_at"] > two["last_accessed_at"]
    ids = {e["enrollment_id"] for e in body["items"]}
    assert ids == {e["id"] for e in taught["enrollments"]}
    assert set(zero) == {
        "enrollment_id",
        "student_id",
        "full_name",
        "status",
        "completion_percentage",
        "quiz_average",
        "last_accessed_at",
        "enrolled_at",
        "completed_at",
    }


async def test_roster_sorts_filters_and_pages(client: httpx.AsyncClient, taught: dict) -> None:
    owner, course_id = taught["owner"], taught["course"]["id"]

    async def names(**params) -> list[str]:
        answer = await roster(client, owner, course_id, **params)
        assert answer.status_code == 200, answer.text
        return [e["full_name"] for e in answer.json()["items"]]

    assert await names(sort="progress") == ["Student 0", "Student 1", "Student 2"]
    # Student 1 submitted last; Student 2 was last seen when the enrollment became active.
    assert await names(sort="last_active") == ["Student 1", "Student 0", "Student 2"]
    assert await names(sort="name", page=2, page_size=2) == ["Student 2"]
    beyond = (await roster(client, owner, course_id, page=3, page_size=2)).json()
    assert beyond["items"] == [] and beyond["total"] == 3 and beyond["page"] == 3
    assert await names(status="completed") == []
    assert len(await names(status="active")) == 3


@pytest.mark.parametrize(
    "params",
    [{"sort": "email"}, {"sort": ""}, {"status": "lost"}, {"page": 0}, {"page_size": 101}],
)
async def test_bad_roster_queries_answer_422(
    client: httpx.AsyncClient, taught: dict, params: dict
) -> None:
    answer = await roster(client, taught["owner"], taught["course"]["id"], **params)
    assert_envelope(answer, 422, "validation_error")


@pytest.mark.parametrize("path", ["students", "gradebook.csv"])
async def test_only_the_owner_and_admins_see_the_learners(
    client: httpx.AsyncClient, system: System, taught: dict, path: str
) -> None:
    course_id = taught["course"]["id"]
    other = await account(system.settings, "instructor")
    admin = await account(system.settings, "admin")
    for caller in (other, taught["students"][0], await account(system.settings)):
        answer = await client.get(f"/courses/{course_id}/{path}", headers=caller.headers)
        assert_envelope(answer, 404, "not_found")
    assert (await client.get(f"/courses/{course_id}/{path}")).status_code == 401
    missing = await client.get(f"/courses/{2**62}/{path}", headers=admin.headers)
    assert_envelope(missing, 404, "not_found")
    assert (await client.get(f"/courses/{course_id}/{path}", headers=admin.headers)).is_success


async def test_gradebook_has_a_row_per_enrollment(client: httpx.AsyncClient, taught: dict) -> None:
    course = taught["course"]
    answer = await client.get(
        f"/courses/{course['id']}/gradebook.csv", headers=taught["owner"].headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    header, *lines = list(csv.reader(io.StringIO(answer.text)))
    quiz = course["modules"][1]["lessons"][-1]
    modules = [m["id"] for m in course["modules"]]
    assert header == [
        "enrollment_id",
        "student_id",
        "full_name",
        "status",
        "completion_percentage",
        f"quiz {quiz['id']}: {quiz['title']}",
        f"module {modules[0]}: Module 0 (%)",
        f"module {modules[1]}: Module 1 (%)",
    ]
    rows = {line[2]: line for line in lines}
    assert len(lines) == 3 and set(rows) == {"Student 0", "Student 1", "Student 2"}
    assert rows["Student 0"][4:] == ["40.0", "", "100.0", "0.0"]
    assert rows["Student 1"][4:] == ["20.0", "100", "0.0", "33.33"]
    assert rows["Student 2"][4:] == ["0.0", "", "0.0", "0.0"]
    assert [int(line[0]) for line in lines] == sorted(e["id"] for e in taught["enrollments"])

"""Quiz attempts over real HTTP: limited per quiz (`quiz_max_attempts`, 409 past it, also under
concurrent submissions), and an answer tells the score, never which answers were right."""

import asyncio

import httpx

from tests.conftest import System
from tests.e2e.accounts import account, many_accounts
from tests.e2e.catalog import QUIZ, active_enrollment, lesson_ids, poll, published_course
from tests.e2e.test_gateway import assert_envelope

WRONG = [len(q["choices"]) - 1 - q["answer_index"] for q in QUIZ["questions"]]


async def test_attempts_stop_at_the_limit_and_tell_only_the_score(
    client: httpx.AsyncClient, system: System
) -> None:
    limit = system.settings.quiz_max_attempts
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner, modules=1, lessons=1, quiz=True)
    quiz_id = lesson_ids(course)[-1]
    await active_enrollment(client, student, course["id"])
    path = f"/quizzes/{quiz_id}/submit"
    for number in range(1, limit + 1):
        answer = await client.post(path, json={"answers": WRONG}, headers=student.headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"score", "passed", "attempt", "attempts_left", "progress"}
        assert (body["attempt"], body["attempts_left"]) == (number, limit - number)
        assert body["score"] == 0 and body["passed"] is False
    past = await client.post(path, json={"answers": WRONG}, headers=student.headers)
    assert_envelope(past, 409, "conflict")
    # Even the right answers are refused now: the limit is per quiz, whatever the answers.
    right = [q["answer_index"] for q in QUIZ["questions"]]
    assert_envelope(
        await client.post(path, json={"answers": right}, headers=student.headers), 409, "conflict"
    )


async def test_concurrent_submissions_cannot_pass_the_limit(
    client: httpx.AsyncClient, system: System
) -> None:
    limit = system.settings.quiz_max_attempts
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, modules=1, lessons=1, quiz=True)
    quiz_id = lesson_ids(course)[-1]
    [student] = await many_accounts(system.settings, 1)
    await active_enrollment(client, student, course["id"])
    answers = await asyncio.gather(
        *(
            client.post(
                f"/quizzes/{quiz_id}/submit", json={"answers": WRONG}, headers=student.headers
            )
            for _ in range(limit + 3)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * limit + [409] * 3, codes
    assert sorted(a.json()["attempt"] for a in answers if a.status_code == 200) == list(
        range(1, limit + 1)
    )


async def test_a_course_completes_only_once_the_quiz_average_reaches_its_threshold(
    client: httpx.AsyncClient, system: System
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(
        client, owner, modules=1, lessons=1, quiz=True, pass_threshold=80
    )
    text_id, quiz_id = lesson_ids(course)
    enrollment = await active_enrollment(client, student, course["id"])
    done = await client.post(f"/lessons/{text_id}/complete", json={}, headers=student.headers)
    assert done.status_code == 200, done.text
    half = [1, 1]  # the first answer right, the second wrong: 50, passed at the quiz's 50
    path = f"/quizzes/{quiz_id}/submit"
    passed = (await client.post(path, json={"answers": half}, headers=student.headers)).json()
    assert (passed["score"], passed["passed"]) == (50, True)
    progress = passed["progress"]
    assert progress["completion_percentage"] == 100.0 and progress["quiz_average"] == 50.0
    assert progress["blocked_by"] == "quiz_average_below_threshold"
    url = f"/enrollments/{enrollment['id']}"
    held = (await client.get(url, headers=student.headers)).json()
    assert held["status"] == "active" and held["progress"]["blocked_by"] is not None

    right = [q["answer_index"] for q in QUIZ["questions"]]
    better = (await client.post(path, json={"answers": right}, headers=student.headers)).json()
    assert better["score"] == 100 and better["progress"]["blocked_by"] is None

    async def certified() -> dict | None:
        found = (await client.get(url, headers=student.headers)).json()
        return found if found["certificate_id"] is not None else None

    finished = await poll(certified)
    assert finished["status"] == "completed" and finished["progress"]["quiz_average"] == 100.0

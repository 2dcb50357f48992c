"""Quiz attempts over real HTTP: limited per quiz (`quiz_max_attempts`, 409 past it, also under
concurrent submissions), and an answer tells the score, never which answers were right."""

import asyncio

import httpx

from tests.conftest import System
from tests.e2e.accounts import account, many_accounts
from tests.e2e.catalog import QUIZ, active_enrollment, lesson_ids, published_course
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

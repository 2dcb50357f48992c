"""The load test's users (`python -m benchmarks.run`): visitors browsing the catalog, students
learning, instructors authoring, against SmartCourse and the baseline alike.

Identities and ids come from the seeder's work file (BENCH_WORK, see benchmarks/seed.py), so no
one registers or logs in: the gateway rate-limits those routes per client address. BENCH_SLICE
"i/n" makes a run act as every n-th seeded student from the i-th, so the steps and targets of
one benchmark never share a student's progress or rate-limit window.
"""

import json
import os
import random
import uuid
from collections import deque
from typing import Any

from locust import FastHttpUser, between, task

with open(os.environ["BENCH_WORK"]) as work_file:
    WORK = json.load(work_file)
SLICE, SLICES = (int(n) for n in os.environ.get("BENCH_SLICE", "0/1").split("/"))
COURSES = WORK["courses"]
CATEGORIES = sorted({course["category"] for course in COURSES})
LEVELS = sorted({course["level"] for course in COURSES})
LESSONS = {course["id"]: course["lessons"] for course in COURSES}
QUIZ_KEYS = {int(i): keys for course in COURSES for i, keys in course["quizzes"].items()}
# Courses are viewed and joined in proportion to their enrollments: the catalog's long tail.
POPULARITY = [course["enrolled"] + 1 for course in COURSES]
STUDENTS = deque(WORK["students"][SLICE::SLICES])
random.shuffle(STUDENTS)
INSTRUCTORS = deque(WORK["instructors"])
# Quick clicks: 8-64 users have to load the system on 2 cores, where people pausing for seconds
# between pages would take thousands of simulated users, more than a niced locust can drive.
THINK = between(0.1, 0.5)
# Requests a student makes before another one takes their seat, as sessions come and go.
SESSION = 20
# A wrong answer now and then, so some quizzes fail and are taken again.
RIGHT_ANSWER = 0.8


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def catalog_query() -> dict[str, Any]:
    """Mostly the first page of a category; some searches and level filters."""
    query: dict[str, Any] = {"page": random.choices((1, 2, 3), (6, 3, 1))[0]}
    roll = random.random()
    if roll < 0.6:
        query["category"] = random.choice(CATEGORIES)
    elif roll < 0.8:
        query["q"] = random.choice(WORK["terms"])
    if random.random() < 0.25:
        query["level"] = random.choice(LEVELS)
    return query


def browse(user: FastHttpUser, headers: dict[str, str]) -> None:
    user.client.get("/courses", params=catalog_query(), headers=headers, name="/courses")


def view_course(user: FastHttpUser, headers: dict[str, str]) -> None:
    course = random.choices(COURSES, POPULARITY)[0]
    user.client.get(f"/courses/{course['id']}", headers=headers, name="/courses/{course_id}")


def next_lesson(student: dict[str, Any], quiz: bool) -> tuple[dict[str, Any], int] | None:
    """A lesson (or quiz) not done yet, the first in course order, in one of the student's
    active enrollments; new ones may still be pending, so they are left alone."""
    enrollments = [e for e in student["enrollments"] if not e.get("new")]
    random.shuffle(enrollments)
    for enrollment in enrollments:
        done = set(enrollment["completed"])
        for lesson in LESSONS[enrollment["course_id"]]:
            if lesson not in done and (lesson in QUIZ_KEYS) == quiz:
                return enrollment, lesson
    return None


class Visitor(FastHttpUser):
    """Anonymous catalog browsing, a new visitor every SESSION requests. Each visitor is a
    client address of its own, as behind a load balancer, so the per-address rate limit
    applies to each one."""

    # Weights: signed-in learners make most of the traffic, anonymous browsing a third of it;
    # authoring is rare (one Instructor at every step, below).
    weight = 1
    wait_time = THINK

    def on_start(self) -> None:
        self.left = 0

    def session(self) -> dict[str, str]:
        if self.left == 0:
            address = ".".join(str(random.randrange(1, 255)) for _ in range(3))
            self.headers, self.left = {"X-Forwarded-For": f"10.{address}"}, SESSION
        self.left -= 1
        return self.headers

    # Task weights: listing pages (3) leads to opening some of the courses listed (2).
    @task(3)
    def catalog(self) -> None:
        browse(self, self.session())

    @task(2)
    def course(self) -> None:
        view_course(self, self.session())


class Student(FastHttpUser):
    """A signed-in student: mostly completing lessons and taking quizzes, checking progress and
    notifications, now and then browsing and enrolling in another course."""

    weight = 2
    wait_time = THINK

    def on_start(self) -> None:
        self.me: dict[str, Any] | None = None
        self.left = 0

    def on_stop(self) -> None:
        if self.me is not None:
            STUDENTS.append(self.me)

    def session(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The student this user is now, and their headers."""
        if self.me is None or self.left == 0:
            self.on_stop()
            self.me, self.left = STUDENTS.popleft(), SESSION
        self.left -= 1
        return self.me, bearer(self.me["token"])

    # Task weights: learning (lessons 5, quizzes 1) is most of a student's requests, then
    # looking at progress (2 + 1) and notifications (1), browsing (2 + 1), enrolling (1).
    @task(5)
    def complete_lesson(self) -> None:
        me, headers = self.session()
        found = next_lesson(me, quiz=False)
        if found is None:
            return
        enrollment, lesson = found
        answer = self.client.post(
            f"/lessons/{lesson}/complete",
            json={},
            headers=headers,
            name="/lessons/{lesson_id}/complete",
        )
        if answer.status_code == 200:
            enrollment["completed"].append(lesson)

    @task(1)
    def submit_quiz(self) -> None:
        me, headers = self.session()
        found = next_lesson(me, quiz=True)
        if found is None:
            return
        enrollment, lesson = found
        answers = [
            key if random.random() < RIGHT_ANSWER else int(key == 0) for key in QUIZ_KEYS[lesson]
        ]
        answer = self.client.post(
            f"/quizzes/{lesson}/submit",
            json={"answers": answers},
            headers=headers,
            name="/quizzes/{lesson_id}/submit",
        )
        if answer.status_code == 200 and answer.json()["passed"]:
            enrollment["completed"].append(lesson)

    @task(2)
    def read_enrollment(self) -> None:
        me, headers = self.session()
        if me["enrollments"]:
            enrollment = random.choice(me["enrollments"])
            self.client.get(
                f"/enrollments/{enrollment['id']}",
                headers=headers,
                name="/enrollments/{enrollment_id}",
            )

    @task(1)
    def my_courses(self) -> None:
        self.client.get("/enrollments/my-courses", headers=self.session()[1])

    @task(1)
    def notifications(self) -> None:
        params = {"unread": "true"} if random.random() < 0.5 else {}
        self.client.get("/notifications", params=params, headers=self.session()[1])

    @task(2)
    def catalog(self) -> None:
        browse(self, self.session()[1])

    @task(1)
    def course(self) -> None:
        view_course(self, self.session()[1])

    @task(1)
    def enroll(self) -> None:
        me, headers = self.session()
        taken = {e["course_id"] for e in me["enrollments"]}
        course = random.choices(COURSES, POPULARITY)[0]
        if course["id"] in taken:
            return
        answer = self.client.post(
            "/enrollments",
            json={"course_id": course["id"]},
            headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
        )
        if answer.status_code in (200, 202):
            enrolled = {"id": answer.json()["enrollment_id"], "course_id": course["id"]}
            me["enrollments"].append(enrolled | {"completed": [], "new": True})


class Instructor(FastHttpUser):
    """Authoring one course at a time, a request per step: create it, two modules of three
    lessons (the last a quiz), publish; then the next course, as the next instructor."""

    # One at every load, not a share of the users: authoring is rare next to learning, and
    # each publish drops every cached catalog page, which many instructors would overstate.
    fixed_count = 1
    # Writing a lesson takes longer than opening one.
    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.steps: list[Any] = []

    @task
    def author(self) -> None:
        if not self.steps:
            self.token = INSTRUCTORS[0]
            INSTRUCTORS.rotate(-1)
            self.steps = [self.create_course]
            for module in range(2):
                self.steps.append(lambda m=module: self.add_module(m))
                self.steps += [lambda k=kind: self.add_lesson(k) for kind in ("video", "text")]
                self.steps.append(lambda: self.add_lesson("quiz"))
            self.steps.append(self.publish)
        if not self.steps.pop(0)():
            self.steps = []

    def create_course(self) -> bool:
        body = {
            "title": f"Course {uuid.uuid4().hex[:8]}",
            "description": "Written during the load test.",
            "category": random.choice(CATEGORIES),
            "level": random.choice(LEVELS),
        }
        answer = self.client.post("/courses", json=body, headers=bearer(self.token))
        self.course_id = answer.json()["id"] if answer.status_code == 201 else None
        return self.course_id is not None

    def add_module(self, position: int) -> bool:
        answer = self.client.post(
            f"/courses/{self.course_id}/modules",
            json={"title": f"Module {position + 1}", "position": position},
            headers=bearer(self.token),
            name="/courses/{course_id}/modules",
        )
        self.module_id = answer.json()["id"] if answer.status_code == 201 else None
        return self.module_id is not None

    def add_lesson(self, kind: str) -> bool:
        body: dict[str, Any] = {"title": f"A {kind} lesson", "kind": kind, "duration_minutes": 10}
        if kind == "quiz":
            question = {"prompt": "2 + 2?", "choices": ["3", "4"], "answer_index": 1}
            body["quiz"] = {"pass_score": 100, "questions": [question]}
        answer = self.client.post(
            f"/courses/{self.course_id}/modules/{self.module_id}/lessons",
            json=body,
            headers=bearer(self.token),
            name="/courses/{course_id}/modules/{module_id}/lessons",
        )
        return answer.status_code == 201

    def publish(self) -> bool:
        answer = self.client.post(
            f"/courses/{self.course_id}/publish",
            headers=bearer(self.token),
            name="/courses/{course_id}/publish",
        )
        return answer.status_code == 202

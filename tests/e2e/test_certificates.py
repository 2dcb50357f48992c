"""Certificates over real HTTP: finishing the last lesson issues the certificate with no further
call (PDF with the student's name, email in the SMTP sink, `certificate_ready` notification),
public verification confirms it, and only the right people read it."""

import io
import uuid

import httpx
from pypdf import PdfReader

from serve.smtp_sink import read_mail
from tests.conftest import System
from tests.e2e.accounts import account, sign_up
from tests.e2e.catalog import active_enrollment, lesson_ids, poll, published_course
from tests.e2e.test_gateway import assert_envelope


async def test_last_lesson_issues_a_verifiable_certificate_pdf_email_and_notification(
    client: httpx.AsyncClient, system: System
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, modules=1, lessons=1)
    name = f"Grace Hopper {uuid.uuid4().hex[:6]}"
    student = await sign_up(client, full_name=name)
    enrollment_id = (await active_enrollment(client, student, course["id"]))["id"]

    completed = await client.post(
        f"/lessons/{lesson_ids(course)[0]}/complete", json={}, headers=student.headers
    )
    assert completed.status_code == 200, completed.text

    async def certificate_id() -> int | None:
        answer = await client.get(f"/enrollments/{enrollment_id}", headers=student.headers)
        enrollment = answer.json()
        return enrollment["certificate_id"] if enrollment["status"] == "completed" else None

    cid = await poll(certificate_id, within=60)

    async def certificate_with_pdf() -> dict | None:
        answer = await client.get(f"/certificates/{cid}", headers=student.headers)
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["pdf_url"] else None

    certificate = await poll(certificate_with_pdf, within=60)
    assert certificate["enrollment_id"] == enrollment_id
    assert (certificate["student_name"], certificate["course_title"]) == (name, course["title"])
    async with httpx.AsyncClient(timeout=30) as anyone:
        pdf = await anyone.get(certificate["pdf_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert name in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()

    async def email() -> list | None:
        mine = [m for m in read_mail(system.settings) if student.email in m["To"]]
        return [m for m in mine if m["Subject"].startswith("Your certificate")] or None

    [mail] = await poll(email, within=60)
    assert mail["Subject"] == f"Your certificate for {course['title']}"
    assert certificate["verification_code"] in mail.get_content()

    async def notification() -> list | None:
        answer = await client.get("/notifications", headers=student.headers)
        kinds = [item["kind"] for item in answer.json()["items"]]
        return [k for k in kinds if k == "certificate_ready"] or None

    assert await poll(notification, within=60) == ["certificate_ready"]

    verified = await client.get(f"/certificates/verify/{certificate['verification_code']}")
    assert verified.status_code == 200, verified.text
    assert verified.json()["valid"] is True and verified.json()["student_name"] == name
    assert verified.json()["course_title"] == course["title"]

    # Asked for explicitly, twice: the same workflow, still the one certificate.
    for _ in range(2):
        again = await client.post(
            f"/enrollments/{enrollment_id}/certificate", headers=student.headers
        )
        assert again.status_code == 202, again.text
        assert again.json() == {"workflow_id": f"certificate-{enrollment_id}", "status": "QUEUED"}
    assert await certificate_id() == cid

    owner_view = await client.get(f"/certificates/{cid}", headers=owner.headers)
    assert owner_view.status_code == 200 and owner_view.json()["id"] == cid
    stranger = await account(system.settings)
    assert_envelope(
        await client.get(f"/certificates/{cid}", headers=stranger.headers), 404, "not_found"
    )


async def test_unknown_verification_code_is_404(client: httpx.AsyncClient) -> None:
    answer = await client.get(f"/certificates/verify/NOPE-{uuid.uuid4().hex[:8]}")
    assert_envelope(answer, 404, "not_found")


async def test_certificate_of_an_unfinished_enrollment_is_409_and_others_see_404(
    client: httpx.AsyncClient, system: System
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, modules=1, lessons=1)
    student = await account(system.settings)
    enrollment_id = (await active_enrollment(client, student, course["id"]))["id"]
    path = f"/enrollments/{enrollment_id}/certificate"
    assert_envelope(await client.post(path, headers=student.headers), 409, "conflict")
    stranger = await account(system.settings)
    assert_envelope(await client.post(path, headers=stranger.headers), 404, "not_found")
    assert_envelope(await client.post(path), 401, "unauthorized")
    missing = await client.get("/certificates/999999999", headers=student.headers)
    assert_envelope(missing, 404, "not_found")

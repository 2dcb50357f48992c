"""The certificates service against real PostgreSQL, Redis and Temporal (no HTTP): who may
request and read a certificate, the 409 of an unfinished enrollment, and public verification
with its throttle."""

import uuid
from collections.abc import Iterator

import pytest

from core.errors import Conflict, NotFound, RateLimited
from core.identity import Principal, Role
from core.settings import Settings
from serve.certificates import Certificates, VerificationLookup
from serve.resources import Resources
from serve.stack import LocalStack
from storage.db import Database
from storage.repositories.certificate import CertificateRepository
from storage.temporal import CertificateRequest
from tests.integration.certificate_rows import completed_enrollment
from workflows.certificates.activities import CertificateActivities


@pytest.fixture
def service(database: Settings, servers: LocalStack) -> Iterator[Certificates]:
    own = database.model_copy(
        update={
            "temporal_task_queue": f"nobody-{uuid.uuid4().hex[:8]}",
            "certificate_verify_misses_per_ip": 2,
        }
    )
    yield Certificates(Resources.open(own))


def student(user_id: int) -> Principal:
    return Principal(user_id, Role.STUDENT)


async def issued(db: Database, settings: Settings) -> dict:
    enrollment_id = await completed_enrollment(db, "Margaret Hamilton", course_title="Apollo")
    outcome = await CertificateActivities(settings, db).issue(CertificateRequest(enrollment_id))
    async with db.unit_of_work() as uow:
        access = await CertificateRepository(uow.session).with_access(outcome.certificate_id)
    assert access is not None
    return {"certificate": access.certificate, "instructor_id": access.instructor_id}


async def test_request_answers_the_one_workflow_id_for_the_owner_only(
    service: Certificates, db: Database, settings: Settings
) -> None:
    found = await issued(db, settings)
    certificate = found["certificate"]
    owner = student(certificate.student_id)
    expected = {"workflow_id": f"certificate-{certificate.enrollment_id}", "status": "QUEUED"}
    assert await service.request_certificate(owner, certificate.enrollment_id) == expected
    assert await service.request_certificate(owner, certificate.enrollment_id) == expected
    with pytest.raises(NotFound):
        await service.request_certificate(student(10**12), certificate.enrollment_id)


async def test_request_for_an_unfinished_enrollment_is_a_conflict(
    service: Certificates, db: Database
) -> None:
    enrollment_id = await completed_enrollment(db, "Radia Perlman", status="active")
    async with db.unit_of_work() as uow:
        facts = await CertificateRepository(uow.session).enrollment(enrollment_id)
    assert facts is not None
    with pytest.raises(Conflict):
        await service.request_certificate(student(facts.student_id), enrollment_id)


async def test_student_course_owner_and_admin_read_it_others_get_404(
    service: Certificates, db: Database, settings: Settings
) -> None:
    found = await issued(db, settings)
    certificate = found["certificate"]
    readers = [
        student(certificate.student_id),
        Principal(found["instructor_id"], Role.INSTRUCTOR),
        Principal(10**12, Role.ADMIN),
    ]
    for reader in readers:
        view = await service.get_certificate(reader, certificate.id)
        assert view["student_name"] == "Margaret Hamilton" and view["course_title"] == "Apollo"
        assert view["verification_code"] == certificate.verification_code
    for outsider in (student(10**12), Principal(10**12 + 1, Role.INSTRUCTOR)):
        with pytest.raises(NotFound):
            await service.get_certificate(outsider, certificate.id)


async def test_verify_confirms_a_code_and_throttles_an_address_guessing(
    service: Certificates, db: Database, settings: Settings
) -> None:
    certificate = (await issued(db, settings))["certificate"]
    guesser = f"203.0.113.7-{uuid.uuid4().hex[:6]}"
    real = VerificationLookup(code=certificate.verification_code, client_ip=guesser)
    answer = await service.verify(real)
    assert answer["valid"] is True and answer["student_name"] == "Margaret Hamilton"
    for _ in range(2):
        with pytest.raises(NotFound):
            await service.verify(VerificationLookup(code="NOT-A-CODE", client_ip=guesser))
    with pytest.raises(RateLimited):
        await service.verify(VerificationLookup(code="NOT-A-CODE", client_ip=guesser))
    # Past the limit a real code is still answered: only misses are ever refused.
    assert (await service.verify(real))["valid"] is True

"""The certificates service (in the ingress process): starting certificate generation on request,
reading a certificate, and the public verification of a code.

Who sees what: the certificate's student, the owner of its course and admins read it; to anyone
else it does not exist (404, so ids reveal nothing). Verification is public and answers only
whether a code is real, with the name and course it was issued for.
"""

import logging
from typing import Any

from pydantic import BaseModel, Field

from core.certificates import normalize_code
from core.errors import Conflict, NotFound
from core.identity import Principal
from core.pages import PageQuery, page_of
from core.status import EnrollmentStatus
from serve.resources import Resources
from storage.health import s3_client
from storage.repositories.certificate import CertificateRecord, CertificateRepository
from storage.verify_throttle import VerifyThrottle

log = logging.getLogger(__name__)
PDF_URL_TTL_SECONDS = 15 * 60


class VerificationLookup(BaseModel):
    code: str = Field(max_length=128)
    client_ip: str


class Certificates:
    def __init__(self, resources: Resources) -> None:
        settings = self._settings = resources.settings
        self._db = resources.db
        self._throttle = VerifyThrottle(
            resources.redis,
            settings.certificate_verify_misses_per_ip,
            settings.certificate_verify_window_seconds,
        )
        # Presigning is a local signature; this client never calls the store.
        self._s3 = s3_client(settings)
        self._temporal = resources.temporal

    async def request_certificate(self, principal: Principal, enrollment_id: int) -> dict:
        """Start (or join) the enrollment's certificate workflow; 409 unless completed."""
        async with self._db.unit_of_work() as uow:
            facts = await CertificateRepository(uow.session).enrollment(enrollment_id)
        if facts is None or not principal.may_act_for(facts.student_id):
            raise NotFound("No such enrollment")
        if facts.status != EnrollmentStatus.COMPLETED:
            raise Conflict("A certificate is issued only for a completed enrollment")
        workflow_id = await self._temporal.start_certificate(enrollment_id)
        log.info("event=certificate_requested enrollment_id=%s", enrollment_id)
        return {"workflow_id": workflow_id, "status": "QUEUED"}

    async def get_certificate(self, principal: Principal, certificate_id: int) -> dict:
        async with self._db.unit_of_work() as uow:
            access = await CertificateRepository(uow.session).with_access(certificate_id)
        if access is None:
            raise NotFound("No such certificate")
        readers = {access.certificate.student_id, access.instructor_id}
        if not (principal.is_admin or principal.user_id in readers):
            raise NotFound("No such certificate")
        return self.view(access.certificate)

    async def mine(self, principal: Principal, query: PageQuery) -> dict:
        async with self._db.unit_of_work() as uow:
            rows, total = await CertificateRepository(uow.session).for_student(
                principal.user_id, query.offset, query.limit
            )
        return page_of(query, [self.view(row) for row in rows], total)

    def view(self, certificate: CertificateRecord) -> dict[str, Any]:
        pdf_url = None
        if certificate.pdf_object_key:
            pdf_url = self._s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self._settings.s3_bucket, "Key": certificate.pdf_object_key},
                ExpiresIn=PDF_URL_TTL_SECONDS,
            )
        return {
            "id": certificate.id,
            "enrollment_id": certificate.enrollment_id,
            "student_name": certificate.student_name,
            "course_title": certificate.course_title,
            "verification_code": certificate.verification_code,
            "issued_at": certificate.issued_at.isoformat(),
            "pdf_url": pdf_url,
        }

    async def verify(self, lookup: VerificationLookup) -> dict:
        """Public: is this a real code? A real one is always answered; unknown codes count
        against the caller's address, and past its limit they answer 429."""
        code = normalize_code(lookup.code)
        certificate = None
        if code is not None:
            async with self._db.unit_of_work() as uow:
                certificate = await CertificateRepository(uow.session).by_code(code)
        if certificate is None:
            await self._throttle.record_miss(lookup.client_ip)
            raise NotFound("Unknown verification code")
        return {
            "valid": True,
            "student_name": certificate.student_name,
            "course_title": certificate.course_title,
            "issued_at": certificate.issued_at.isoformat(),
        }

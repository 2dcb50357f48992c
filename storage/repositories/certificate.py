"""Certificates in PostgreSQL: issuing one per enrollment, recording the rendered PDF, and the
reads behind the certificate routes.

Enrollments and courses belong to other modules; the few columns read here are named with
Core `table()` clauses rather than their ORM classes, so this module depends on the schema only.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import column, func, select, table, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.certificate import Certificate
from storage.models.user import User

enrollments = table(
    "enrollments",
    column("id"),
    column("student_id"),
    column("course_id"),
    column("status"),
    column("certificate_id"),
)
courses = table("courses", column("id"), column("title"), column("instructor_id"))


@dataclass(frozen=True, slots=True)
class EnrollmentFacts:
    """What issuing a certificate needs to know about an enrollment."""

    enrollment_id: int
    student_id: int
    course_id: int
    status: str
    student_name: str
    student_email: str
    course_title: str
    instructor_id: int


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    """A certificate as plain data, safe to use after its transaction has ended."""

    id: int
    enrollment_id: int
    student_id: int
    course_id: int
    verification_code: str
    student_name: str
    course_title: str
    issued_at: datetime
    pdf_object_key: str | None
    pdf_rendered_at: datetime | None


def record(certificate: Certificate | None) -> CertificateRecord | None:
    if certificate is None:
        return None
    return CertificateRecord(
        id=certificate.id,
        enrollment_id=certificate.enrollment_id,
        student_id=certificate.student_id,
        course_id=certificate.course_id,
        verification_code=certificate.verification_code,
        student_name=certificate.student_name,
        course_title=certificate.course_title,
        issued_at=certificate.issued_at,
        pdf_object_key=certificate.pdf_object_key,
        pdf_rendered_at=certificate.pdf_rendered_at,
    )


@dataclass(frozen=True, slots=True)
class CertificateAccess:
    certificate: CertificateRecord
    instructor_id: int


class CertificateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enrollment(self, enrollment_id: int, *, lock: bool = False) -> EnrollmentFacts | None:
        """The enrollment with its student and course; `lock` holds its row until the commit,
        so concurrent issuers of one enrollment take turns."""
        statement = (
            select(
                enrollments.c.id,
                enrollments.c.student_id,
                enrollments.c.course_id,
                enrollments.c.status,
                User.full_name,
                User.email,
                courses.c.title,
                courses.c.instructor_id,
            )
            .join(User, User.id == enrollments.c.student_id)
            .join(courses, courses.c.id == enrollments.c.course_id)
            .where(enrollments.c.id == enrollment_id)
        )
        if lock:
            statement = statement.with_for_update(of=enrollments)
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else EnrollmentFacts(*row)

    async def add(self, facts: EnrollmentFacts, verification_code: str) -> CertificateRecord | None:
        """The new certificate, or None when the enrollment already has one."""
        statement = (
            insert(Certificate)
            .values(
                enrollment_id=facts.enrollment_id,
                student_id=facts.student_id,
                course_id=facts.course_id,
                verification_code=verification_code,
                student_name=facts.student_name,
                course_title=facts.course_title,
            )
            .on_conflict_do_nothing(index_elements=[Certificate.enrollment_id])
            .returning(Certificate)
        )
        return record((await self.session.scalars(statement)).one_or_none())

    async def link_enrollment(self, enrollment_id: int, certificate_id: int) -> None:
        await self.session.execute(
            update(enrollments)
            .where(enrollments.c.id == enrollment_id)
            .values(certificate_id=certificate_id)
        )

    async def get(self, certificate_id: int) -> CertificateRecord | None:
        return record(await self.session.get(Certificate, certificate_id))

    async def by_enrollment(self, enrollment_id: int) -> CertificateRecord | None:
        return record(
            await self.session.scalar(
                select(Certificate).where(Certificate.enrollment_id == enrollment_id)
            )
        )

    async def by_code(self, verification_code: str) -> CertificateRecord | None:
        return record(
            await self.session.scalar(
                select(Certificate).where(Certificate.verification_code == verification_code)
            )
        )

    async def for_student(
        self, student_id: int, offset: int, limit: int
    ) -> tuple[list[CertificateRecord], int]:
        """One page of the student's certificates, newest first, and how many there are."""
        where = Certificate.student_id == student_id
        total = await self.session.scalar(
            select(func.count()).select_from(Certificate).where(where)
        )
        rows = await self.session.scalars(
            select(Certificate)
            .where(where)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [record(row) for row in rows], total or 0

    async def with_access(self, certificate_id: int) -> CertificateAccess | None:
        """The certificate and the owner of its course, who may read it too."""
        statement = (
            select(Certificate, courses.c.instructor_id)
            .join(courses, courses.c.id == Certificate.course_id)
            .where(Certificate.id == certificate_id)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else CertificateAccess(record(row[0]), row[1])

    async def mark_rendered(self, certificate_id: int, object_key: str, at: datetime) -> bool:
        """Record the stored PDF once; False when it was already recorded (a redelivered task)."""
        result = await self.session.execute(
            update(Certificate)
            .where(Certificate.id == certificate_id, Certificate.pdf_object_key.is_(None))
            .values(pdf_object_key=object_key, pdf_rendered_at=at)
        )
        return result.rowcount == 1

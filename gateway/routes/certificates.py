"""POST /enrollments/{id}/certificate, GET /certificates/{id} and the public
GET /certificates/verify/{code}."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from core.identity import Principal
from core.pages import Page, PageQuery
from core.text import Line
from gateway.auth import client_ip, current_principal, rate_limit
from gateway.context import GatewayContext, context
from serve.certificates import VerificationLookup

router = APIRouter(tags=["certificates"])

# Ids are BIGINT; anything outside that range cannot exist and must not reach the database.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Code = Annotated[Line, Path(min_length=1, max_length=128)]


class CertificateQueued(BaseModel):
    workflow_id: str
    status: Literal["QUEUED"]


class CertificateView(BaseModel):
    id: int
    enrollment_id: int
    student_name: str
    course_title: str
    verification_code: str
    issued_at: datetime
    pdf_url: str | None


class CertificateVerification(BaseModel):
    valid: bool
    student_name: str
    course_title: str
    issued_at: datetime


@router.post(
    "/enrollments/{enrollment_id}/certificate",
    status_code=202,
    response_model=CertificateQueued,
)
async def request_certificate(
    enrollment_id: RowId,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    return await ctx.services.certificates.request_certificate(principal, enrollment_id)


@router.get("/certificates", response_model=Page[CertificateView])
async def my_certificates(
    query: Annotated[PageQuery, Query()],
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    """The caller's own certificates, newest first."""
    return await ctx.services.certificates.mine(principal, query)


# Declared before /certificates/{certificate_id} so the literal segment is matched first.
@router.get(
    "/certificates/verify/{code}",
    response_model=CertificateVerification,
    dependencies=[Depends(rate_limit)],
)
async def verify_certificate(
    code: Code, request: Request, ctx: GatewayContext = Depends(context)
) -> dict:
    lookup = VerificationLookup(code=code, client_ip=client_ip(request, ctx.settings))
    return await ctx.services.certificates.verify(lookup)


@router.get("/certificates/{certificate_id}", response_model=CertificateView)
async def get_certificate(
    certificate_id: RowId,
    principal: Principal = Depends(current_principal),
    ctx: GatewayContext = Depends(context),
) -> dict:
    return await ctx.services.certificates.get_certificate(principal, certificate_id)

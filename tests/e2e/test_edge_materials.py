"""Material uploads at the edge: authorization comes before the body is read, the parser's
message is not returned, and a refused upload leaves no row and no S3 object."""

import httpx
from sqlalchemy import func, select

from storage.db import Database
from storage.health import s3_client
from storage.models.course import Material
from tests.conftest import System
from tests.e2e.accounts import account
from tests.e2e.catalog import draft_course
from tests.e2e.test_gateway import assert_envelope


async def stored(db: Database, system: System, course_id: int) -> tuple[int, int]:
    """(material rows, S3 objects) of the course."""
    async with db.unit_of_work() as uow:
        rows = await uow.session.scalar(select(func.count()).where(Material.course_id == course_id))
    listing = s3_client(system.settings).list_objects_v2(
        Bucket=system.settings.s3_bucket, Prefix=f"courses/{course_id}/materials/"
    )
    return rows, listing.get("KeyCount", 0)


async def test_authorization_comes_before_the_body_is_read(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner, other = (
        await account(system.settings, "instructor"),
        await account(system.settings, "instructor"),
    )
    course = await draft_course(client, owner, modules=1, lessons=1)
    url = f"/courses/{course['id']}/materials"
    # A body no parser could read: a non-owner learns only that the course is not theirs.
    broken = {"content-type": "multipart/form-data; boundary=x", **other.headers}
    response = await client.post(url, content=b"--x\r\nnot a part", headers=broken)
    assert_envelope(response, 404, "not_found")
    pdf = {"file": ("big.pdf", b"%PDF-1.4\n" + b"0" * 4096, "application/pdf")}
    assert_envelope(await client.post(url, files=pdf, headers=other.headers), 404, "not_found")
    assert_envelope(await client.post(url, files=pdf), 401, "unauthorized")
    # The owner's broken body is a 400, not a 500.
    owner_broken = {"content-type": "multipart/form-data; boundary=x", **owner.headers}
    response = await client.post(url, content=b"--x\r\nnot a part", headers=owner_broken)
    assert response.status_code in (400, 422), response.text
    assert await stored(db, system, course["id"]) == (0, 0)


async def test_unreadable_pdf_answers_without_the_parser_message(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner = await account(system.settings, "instructor")
    course = await draft_course(client, owner, modules=1, lessons=1)
    url = f"/courses/{course['id']}/materials"
    broken = {"file": ("notes.pdf", b"%PDF-1.4\n%%garbage trailer", "application/pdf")}
    error = assert_envelope(
        await client.post(url, files=broken, headers=owner.headers), 422, "validation_error"
    )
    assert error["details"] == [{"field": "file", "message": "is not a readable PDF"}]
    assert await stored(db, system, course["id"]) == (0, 0)


async def test_text_with_nul_is_refused_and_leaves_nothing(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner = await account(system.settings, "instructor")
    course = await draft_course(client, owner, modules=1, lessons=1)
    url = f"/courses/{course['id']}/materials"
    nul = {"file": ("notes.txt", b"chapter one\x00chapter two", "text/plain")}
    assert_envelope(
        await client.post(url, files=nul, headers=owner.headers), 422, "validation_error"
    )
    assert await stored(db, system, course["id"]) == (0, 0)
    # Before and after: the same text without the NUL is stored, row and object.
    clean = {"file": ("notes.txt", b"chapter one\nchapter two", "text/plain")}
    assert (await client.post(url, files=clean, headers=owner.headers)).status_code == 201
    assert await stored(db, system, course["id"]) == (1, 1)

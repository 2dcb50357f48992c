"""The certificate PDF carries the student's name, the course, the date, the code and the
verification URL, as text a PDF reader extracts, in any script the font covers."""

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from core.settings import Settings
from workflows.tasks.certificate_pdf import CertificateContent, render_certificate

CONTENT = CertificateContent(
    student_name="Zoë Łukasiewicz",
    course_title="Distributed Systems 101",
    issued_at=datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
    verification_code="K7Q2-M9XD-4TPA",
    verification_url="http://127.0.0.1:8000/certificates/verify/K7Q2-M9XD-4TPA",
)


def text_of(document: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)


def test_pdf_holds_name_course_date_code_and_url() -> None:
    font = Settings().certificate_font_path
    if font is None or not font.is_file():
        pytest.skip("the configured Unicode font is not installed")
    document = render_certificate(CONTENT, font)
    assert document.startswith(b"%PDF")
    text = text_of(document)
    for expected in (
        "Zoë Łukasiewicz",
        "Distributed Systems 101",
        "14 March 2025",
        "K7Q2-M9XD-4TPA",
        CONTENT.verification_url,
    ):
        assert expected in text


def test_without_the_font_letters_outside_latin_1_are_replaced_not_fatal(tmp_path: Path) -> None:
    document = render_certificate(CONTENT, tmp_path / "missing.ttf")
    text = text_of(document)
    assert document.startswith(b"%PDF")
    assert "Zoë ?ukasiewicz" in text and "K7Q2-M9XD-4TPA" in text

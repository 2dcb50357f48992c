"""The certificate PDF: one A4 landscape page with the student's name, the course title, the
date of issue, the verification code and the public URL that verifies it.

Names can be in any script, so a Unicode TrueType font is embedded when the configured one
exists; the PDF core fonts (Latin-1 only) are the fallback, with unknown letters replaced.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

CORE_FONT = "Helvetica"


@dataclass(frozen=True, slots=True)
class CertificateContent:
    student_name: str
    course_title: str
    issued_at: datetime
    verification_code: str
    verification_url: str


class CertificatePage:
    def __init__(self, font_path: Path | None) -> None:
        self.pdf = FPDF(orientation="landscape", format="A4")
        self.pdf.set_auto_page_break(False)
        self.unicode = font_path is not None and font_path.is_file()
        self.family = "CertificateSans" if self.unicode else CORE_FONT
        if self.unicode:
            self.pdf.add_font(self.family, fname=str(font_path))

    def text(self, value: str) -> str:
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

    def line(self, value: str, size: int, height: float) -> None:
        self.pdf.set_font(self.family, size=size)
        self.pdf.multi_cell(0, height, self.text(value), align="C", new_x="LMARGIN", new_y="NEXT")

    def render(self, content: CertificateContent) -> bytes:
        pdf = self.pdf
        pdf.set_title(self.text(f"Certificate: {content.course_title}"))
        pdf.add_page()
        pdf.set_line_width(1.2)
        pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
        pdf.set_y(35)
        self.line("Certificate of Completion", 32, 16)
        pdf.ln(8)
        self.line("This certifies that", 14, 8)
        pdf.ln(4)
        self.line(content.student_name, 28, 14)
        pdf.ln(4)
        self.line("has successfully completed the course", 14, 8)
        pdf.ln(2)
        self.line(content.course_title, 22, 11)
        pdf.ln(10)
        self.line(f"Issued on {content.issued_at:%d %B %Y}", 12, 7)
        pdf.set_y(pdf.h - 45)
        self.line(f"Verification code: {content.verification_code}", 11, 6)
        self.line(f"Verify at {content.verification_url}", 10, 6)
        return bytes(pdf.output())


def render_certificate(content: CertificateContent, font_path: Path | None) -> bytes:
    """The PDF document's bytes (they start with `%PDF`)."""
    return CertificatePage(font_path).render(content)

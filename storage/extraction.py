"""Text extraction from uploaded materials (txt, md, pdf) for the content store."""

import io

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from core.errors import ValidationFailed


def extract_text(data: bytes, content_type: str) -> str | None:
    if content_type in ("text/plain", "text/markdown"):
        return data.decode("utf-8", errors="replace")
    if content_type != "application/pdf":
        return None
    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError) as error:
        raise ValidationFailed(
            "The PDF could not be read", [{"field": "file", "message": str(error)[:200]}]
        ) from None

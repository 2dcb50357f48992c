"""Text extraction from uploaded materials (txt, md, pdf) for the content store."""

import io
import logging

from core.errors import ValidationFailed

log = logging.getLogger(__name__)


def extract_text(data: bytes, content_type: str) -> str | None:
    if content_type in ("text/plain", "text/markdown"):
        return data.decode("utf-8", errors="replace")
    if content_type != "application/pdf":
        return None
    # pypdf loads here, in the materials replica that parses uploads, not in the ingress,
    # which imports this module with the courses service but never parses (about 19 MB).
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError) as error:
        # The parser's own message describes our library, not the caller's file: logged only.
        log.info("event=pdf_unreadable error=%s", type(error).__name__)
        raise ValidationFailed(
            "The PDF could not be read",
            [{"field": "file", "message": "is not a readable PDF"}],
        ) from None
    # PDFs may carry NUL in their text, which PostgreSQL cannot store as text.
    return text.replace("\x00", "")

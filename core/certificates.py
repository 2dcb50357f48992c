"""Certificate verification codes: unguessable (128 random bits), printed on the PDF, typed
back by whoever checks a certificate."""

import base64
import re
import secrets

from core.settings import Settings

# Base32 without padding: 26 characters of A-Z2-7, easy to read out and type.
CODE_PATTERN = re.compile(r"[A-Z2-7]{26}")


def verification_url(settings: Settings, code: str) -> str:
    """The public page that verifies a certificate, printed on its PDF and sent in its email."""
    return f"{settings.public_base_url.rstrip('/')}/certificates/verify/{code}"


def new_verification_code() -> str:
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


def normalize_code(code: str) -> str | None:
    """The canonical code for what a person typed (case and spaces ignored), or None when it
    cannot be a code at all, so nothing malformed reaches the database."""
    cleaned = re.sub(r"[\s-]", "", code).upper()
    return cleaned if CODE_PATTERN.fullmatch(cleaned) else None

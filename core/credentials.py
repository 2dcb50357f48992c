"""Credential rules: email normalisation and syntax, password length, and password hashing.

Passwords are 8..128 characters (API.md). They are hashed with passlib's `bcrypt_sha256`:
bcrypt at the configured cost over a SHA-256 pre-hash, because plain bcrypt silently ignores
everything after 72 bytes and a 128-character password may be up to 512 UTF-8 bytes.
Hashing is CPU-bound by design; async callers run it in a thread.
"""

import re
import unicodedata
from contextlib import suppress

from passlib.context import CryptContext

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
EMAIL_MAX_LENGTH = 254
# Deliberately permissive: one @, no spaces, a dotted domain. Deliverability is not our check.
EMAIL_SYNTAX = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")


# Control, format (zero-width, bidirectional overrides), surrogate, private-use and unassigned
# code points, and every separator: none can be seen, so two addresses differing by one would
# look the same to a person.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def normalise_email(email: str) -> str:
    """NFKC, trimmed and lower-cased, so uniqueness and login hold for every way of typing the
    same address (full-width letters, ligatures, case)."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def email_problem(email: str) -> str | None:
    """Why a normalised email is unacceptable, or None."""
    if len(email) > EMAIL_MAX_LENGTH:
        return f"must be at most {EMAIL_MAX_LENGTH} characters"
    if not EMAIL_SYNTAX.fullmatch(email):
        return "is not a valid email address"
    if any(unicodedata.category(char) in INVISIBLE_CATEGORIES for char in email):
        return "must not contain invisible or bidirectional-control characters"
    return None


def password_problem(password: str) -> str | None:
    """Why a password is unacceptable, or None."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"must be at least {PASSWORD_MIN_LENGTH} characters"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"must be at most {PASSWORD_MAX_LENGTH} characters"
    return None


class PasswordHasher:
    def __init__(self, rounds: int) -> None:
        self._context = CryptContext(schemes=["bcrypt_sha256"], bcrypt_sha256__rounds=rounds)
        # Verified against when the email is unknown, so both failures cost the same time.
        self._dummy_hash = self._context.hash("dummy-password-for-timing")

    def hash(self, password: str) -> str:
        return self._context.hash(password)

    def verify(self, password: str, password_hash: str | None) -> bool:
        """Whether `password` matches; with no hash, or a value that is no readable hash (an
        account disabled with `!`, as the load-test population is), burns the same time and
        answers False."""
        if password_hash is not None:
            # passlib raises ValueError for a value it cannot identify or parse.
            with suppress(ValueError):
                return self._context.verify(password, password_hash)
        self._context.verify(password, self._dummy_hash)
        return False

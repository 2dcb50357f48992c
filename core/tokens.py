"""Access tokens (HS256 JWTs) and refresh tokens: issuing, verifying and hashing. Pure: no I/O.

An access token carries `sub` (user id), `role`, `exp`, `iat`, `jti` and `sid`, the id of the
login session (the refresh-token family), so revoking a session can reach its access tokens.
Verification pins the algorithm to HS256 and requires every claim, so `alg: none` and
asymmetric-algorithm tokens are rejected rather than trusted.
"""

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

from core.errors import Unauthorized
from core.identity import Principal, Role

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "role", "exp", "iat", "jti", "sid")


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    role: Role
    session_id: str
    token_id: str
    issued_at: int
    expires_at: int

    @property
    def principal(self) -> Principal:
        return Principal(user_id=self.user_id, role=self.role)


def issue_access_token(
    secret: str,
    *,
    user_id: int,
    role: Role,
    session_id: str,
    ttl_seconds: int,
    now: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": str(role),
        "sid": session_id,
        "jti": uuid.uuid4().hex,
        "iat": issued,
        "exp": issued + timedelta(seconds=ttl_seconds),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_access_token(secret: str, token: str, now: float | None = None) -> AccessClaims:
    """The claims of a valid, unexpired HS256 token signed with `secret`; Unauthorized otherwise.

    A caller sends the same token with every request of its 15 minutes, so a token that verified
    once is remembered and only its expiry is checked again: 0.2 us against 37 us for PyJWT's
    decode (timeit, benchmarks/results/load-history.md). A refused token is not remembered."""
    claims = verified_claims(secret, token)
    if claims.expires_at <= (time.time() if now is None else now):
        raise Unauthorized("The access token has expired")
    return claims


@lru_cache(maxsize=4096)
def verified_claims(secret: str, token: str) -> AccessClaims:
    """PyJWT's verification, remembered per secret and token. A remembered token is answered
    after its expiry too: callers go through `verify_access_token`, which checks it."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": list(REQUIRED_CLAIMS)}
        )
    except jwt.ExpiredSignatureError as expired:
        raise Unauthorized("The access token has expired") from expired
    except jwt.PyJWTError as invalid:
        raise Unauthorized("The access token is invalid") from invalid
    try:
        return AccessClaims(
            user_id=int(claims["sub"]),
            role=Role(claims["role"]),
            session_id=str(claims["sid"]),
            token_id=str(claims["jti"]),
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
        )
    except (TypeError, ValueError) as malformed:
        raise Unauthorized("The access token is invalid") from malformed


def new_refresh_token() -> str:
    """256 random bits, URL-safe; only its hash is ever stored."""
    return secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> str:
    # A fast hash is right here: the token is random, so there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_id() -> str:
    return str(uuid.uuid4())

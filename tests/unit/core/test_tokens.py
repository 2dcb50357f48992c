"""Access tokens: only unexpired HS256 tokens signed with our secret, carrying every claim,
are accepted; `alg: none`, RS256, tampered and expired tokens are refused."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from core.errors import Unauthorized
from core.identity import Role
from core.tokens import (
    issue_access_token,
    new_refresh_token,
    refresh_token_hash,
    verify_access_token,
)

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"


def token(**overrides: object) -> str:
    options = {"user_id": 7, "role": Role.INSTRUCTOR, "session_id": "s-1", "ttl_seconds": 900}
    return issue_access_token(SECRET, **(options | overrides))


def b64(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def test_issued_token_verifies_to_its_claims() -> None:
    claims = verify_access_token(SECRET, token())
    assert (claims.user_id, claims.role, claims.session_id) == (7, Role.INSTRUCTOR, "s-1")
    assert claims.expires_at - claims.issued_at == 900
    assert claims.principal.user_id == 7 and claims.principal.role is Role.INSTRUCTOR
    assert jwt.get_unverified_header(token())["alg"] == "HS256"


def test_every_token_has_its_own_jti() -> None:
    assert (
        verify_access_token(SECRET, token()).token_id
        != verify_access_token(SECRET, token()).token_id
    )


def test_expired_token_is_refused() -> None:
    old = token(now=datetime.now(UTC) - timedelta(minutes=16))
    with pytest.raises(Unauthorized, match="expired"):
        verify_access_token(SECRET, old)


def test_token_signed_with_another_secret_is_refused() -> None:
    forged = issue_access_token(
        "another-secret-that-is-also-long-enough!!",
        user_id=7,
        role=Role.ADMIN,
        session_id="s",
        ttl_seconds=900,
    )
    with pytest.raises(Unauthorized):
        verify_access_token(SECRET, forged)


def test_tampered_payload_is_refused() -> None:
    header, payload, signature = token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    with pytest.raises(Unauthorized):
        verify_access_token(SECRET, f"{header}.{b64(claims)}.{signature}")


def test_alg_none_token_is_refused() -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "7", "role": "admin", "sid": "s", "jti": "j", "iat": now, "exp": now + 900}
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    with pytest.raises(Unauthorized):
        verify_access_token(SECRET, unsigned)


def test_rs256_token_is_refused_even_with_valid_claims() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    claims = {"sub": "7", "role": "admin", "sid": "s", "jti": "j", "iat": now}
    rs256 = jwt.encode(claims | {"exp": now + timedelta(minutes=5)}, key, algorithm="RS256")
    with pytest.raises(Unauthorized):
        verify_access_token(SECRET, rs256)


@pytest.mark.parametrize("missing", ["sub", "role", "sid", "jti", "iat", "exp"])
def test_token_missing_a_claim_is_refused(missing: str) -> None:
    now = datetime.now(UTC)
    claims = {"sub": "7", "role": "student", "sid": "s", "jti": "j", "iat": now}
    claims["exp"] = now + timedelta(minutes=5)
    del claims[missing]
    with pytest.raises(Unauthorized):
        verify_access_token(SECRET, jwt.encode(claims, SECRET, algorithm="HS256"))


@pytest.mark.parametrize(("sub", "role"), [("seven", "student"), ("7", "root")])
def test_token_with_malformed_claims_is_refused(sub: str, role: str) -> None:
    now = datetime.now(UTC)
    claims = {"sub": sub, "role": role, "sid": "s", "jti": "j", "iat": now}
    forged = jwt.encode(claims | {"exp": now + timedelta(minutes=5)}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized):
        verify_access_token(SECRET, forged)


def test_garbage_is_refused() -> None:
    with pytest.raises(Unauthorized):
        verify_access_token(SECRET, "not-a-jwt")


def test_refresh_tokens_are_random_and_stored_only_as_a_hash() -> None:
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second and len(first) >= 43
    digest = refresh_token_hash(first)
    assert digest == refresh_token_hash(first) and len(digest) == 64
    assert first not in digest


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    issued = token(ttl_seconds=60)
    claims = verify_access_token(SECRET, issued)  # verified, and remembered
    assert verify_access_token(SECRET, issued, now=claims.expires_at - 1) == claims
    with pytest.raises(Unauthorized, match="expired"):
        verify_access_token(SECRET, issued, now=claims.expires_at)


def test_a_remembered_token_is_refused_under_another_secret() -> None:
    issued = token()
    verify_access_token(SECRET, issued)
    with pytest.raises(Unauthorized, match="invalid"):
        verify_access_token("another-secret-that-is-also-long-enough!!", issued)

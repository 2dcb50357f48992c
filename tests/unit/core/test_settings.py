"""Settings: env overrides, address parsing and the startup error for a missing secret."""

import pytest

from core.settings import Settings, host_port


def test_env_vars_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTCOURSE_HTTP_PORT", "9999")
    monkeypatch.setenv("SMARTCOURSE_SHARD_COUNT", "8")
    settings = Settings(_env_file=None)
    assert settings.http_port == 9999
    assert settings.shard_count == 8


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:9092", ("127.0.0.1", 9092)),
        ("postgresql+asyncpg://postgres@db.internal:6543/x", ("db.internal", 6543)),
        ("redis://cache", ("cache", 6379)),
    ],
)
def test_host_port_parses_addresses_and_urls(address: str, expected: tuple[str, int]) -> None:
    assert host_port(address, 6379) == expected


def test_missing_jwt_secret_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMARTCOURSE_JWT_SECRET", raising=False)
    with pytest.raises(RuntimeError, match="SMARTCOURSE_JWT_SECRET"):
        Settings(_env_file=None).require_jwt_secret()


def test_secrets_do_not_appear_in_the_settings_repr() -> None:
    settings = Settings(_env_file=None, jwt_secret="super-secret-value")
    assert "super-secret-value" not in repr(settings)

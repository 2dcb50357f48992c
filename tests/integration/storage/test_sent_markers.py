"""The message tasks' sent markers (storage/sent_markers.py): a key is sent once, and the
worker's one Redis client outlives a Redis that crashed and came back."""

from collections.abc import Iterator

import pytest

from core.settings import Settings
from serve.processes import free_port
from storage.sent_markers import send_once
from tests.redis_child import RedisChild


@pytest.fixture
def redis_child() -> Iterator[RedisChild]:
    child = RedisChild.installed(free_port())
    if child is None:
        pytest.skip("redis-server is not installed")
    child.start()
    yield child
    child.kill()


def test_a_key_is_sent_once_and_the_client_survives_a_redis_restart(
    redis_child: RedisChild,
) -> None:
    settings = Settings(redis_url=redis_child.url)
    sent: list[str] = []
    assert send_once(settings, "email_sent:k1", lambda: sent.append("k1"))
    assert not send_once(settings, "email_sent:k1", lambda: sent.append("k1 again"))
    assert send_once(settings, None, lambda: sent.append("no key"))
    assert send_once(settings, None, lambda: sent.append("no key"))

    redis_child.restart()  # empty again, as a Redis without persistence comes back

    assert send_once(settings, "email_sent:k2", lambda: sent.append("k2"))
    assert not send_once(settings, "email_sent:k2", lambda: sent.append("k2 again"))
    assert sent == ["k1", "no key", "no key", "k2"]

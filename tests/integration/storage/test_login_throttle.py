"""Failed-login throttling against real Redis: a doubling backoff per (account, address) capped
at its maximum, a per-address budget across accounts, an alarm (never a lock) per account, the
pair forgiven on success, and failing open when Redis is gone."""

import asyncio
import uuid

import pytest

from core.errors import RateLimited
from core.settings import Settings
from storage.keyvalue import connect_redis
from storage.login_throttle import LoginLimits, LoginThrottle, backoff_seconds
from tests.conftest import free_port

LIMITS = LoginLimits(
    free_failures=2,
    backoff_base_seconds=0.2,
    backoff_max_seconds=1.0,
    per_ip=8,
    ip_window_seconds=60,
    alarm_failures=4,
    alarm_window_seconds=60,
)


@pytest.fixture
def throttle(settings: Settings) -> LoginThrottle:
    return LoginThrottle(connect_redis(settings), LIMITS)


def fresh() -> tuple[str, str]:
    tag = uuid.uuid4().hex
    return f"{tag}@example.com", f"10.{tag[:2]}.{int(tag[2:4], 16)}.{int(tag[4:6], 16)}"


async def until_admitted(throttle: LoginThrottle, email: str, ip: str, within: float) -> float:
    """Seconds until `check` admits the pair, polled; fails past `within`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        try:
            await throttle.check(email, ip)
            return loop.time() - started
        except RateLimited:
            assert loop.time() - started < within, "still refused past the cap"
            await asyncio.sleep(0.05)


def test_backoff_doubles_after_the_free_failures_and_is_capped() -> None:
    limits = LoginLimits(free_failures=3, backoff_base_seconds=1, backoff_max_seconds=60)
    delays = [backoff_seconds(n, limits) for n in range(1, 12)]
    assert delays[:3] == [0, 0, 0] and delays[3:7] == [1, 2, 4, 8]
    assert max(delays) == 60


async def test_a_pair_backs_off_and_is_admitted_again_within_the_cap(
    throttle: LoginThrottle,
) -> None:
    email, ip = fresh()
    for _ in range(LIMITS.free_failures):
        await throttle.record_failure(email, ip)
    await throttle.check(email, ip)  # the free failures cost nothing
    for _ in range(4):  # past the cap (0.2 s doubled four times), within the address budget
        await throttle.record_failure(email, ip)
    with pytest.raises(RateLimited) as refused:
        await throttle.check(email, ip)
    assert 1 <= refused.value.retry_after <= 60
    # The owner from another address is never refused, and this pair waits at most the cap.
    await throttle.check(email, fresh()[1])
    assert await until_admitted(throttle, email, ip, LIMITS.backoff_max_seconds + 1) > 0


async def test_an_address_has_a_budget_across_accounts(throttle: LoginThrottle) -> None:
    _, ip = fresh()
    for _ in range(LIMITS.per_ip):
        await throttle.record_failure(fresh()[0], ip)
    with pytest.raises(RateLimited) as refused:
        await throttle.check(fresh()[0], ip)
    assert refused.value.retry_after <= LIMITS.ip_window_seconds
    await throttle.check(fresh()[0], fresh()[1])


async def test_an_account_raises_one_alarm_and_is_not_locked(throttle: LoginThrottle) -> None:
    email, _ = fresh()
    alarms = [await throttle.record_failure(email, fresh()[1]) for _ in range(6)]
    assert alarms.count(True) == 1 and alarms[LIMITS.alarm_failures - 1]
    await throttle.check(email, fresh()[1])


async def test_success_forgives_the_pair(throttle: LoginThrottle) -> None:
    email, ip = fresh()
    for _ in range(5):
        await throttle.record_failure(email, ip)
    await throttle.clear_pair(email, ip)
    await throttle.check(email, ip)


async def test_no_email_is_stored_in_redis(throttle: LoginThrottle, settings: Settings) -> None:
    email, ip = fresh()
    await throttle.record_failure(email, ip)
    keys = [key async for key in connect_redis(settings).scan_iter("login_failures:*")]
    assert keys and not any(email in key for key in keys)


async def test_without_redis_logins_are_not_throttled(settings: Settings) -> None:
    dead = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    throttle = LoginThrottle(connect_redis(dead), LoginLimits(free_failures=0, per_ip=1))
    email, ip = fresh()
    for _ in range(3):
        assert await throttle.record_failure(email, ip) is False
        await throttle.check(email, ip)

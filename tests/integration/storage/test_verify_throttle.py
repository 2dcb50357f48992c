"""Public certificate verification is throttled per client address on unknown codes only, in
real Redis: misses past the limit are refused, other addresses are unaffected, the window ends
it."""

import asyncio
import uuid

import pytest

from core.errors import RateLimited
from core.settings import Settings
from storage.keyvalue import connect_redis
from storage.verify_throttle import VerifyThrottle


def address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"


async def test_misses_past_the_limit_are_refused(settings: Settings) -> None:
    throttle = VerifyThrottle(connect_redis(settings), misses_per_ip=3, window_seconds=60)
    guesser, bystander = address(), address()
    for _ in range(3):
        await throttle.record_miss(guesser)
    with pytest.raises(RateLimited) as refused:
        await throttle.record_miss(guesser)
    assert 1 <= refused.value.retry_after <= 60
    await throttle.record_miss(bystander)


async def test_the_window_forgives_an_address(settings: Settings) -> None:
    throttle = VerifyThrottle(connect_redis(settings), misses_per_ip=1, window_seconds=1)
    guesser = address()
    await throttle.record_miss(guesser)
    with pytest.raises(RateLimited):
        await throttle.record_miss(guesser)
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        try:
            await throttle.record_miss(guesser)
            break
        except RateLimited:
            assert asyncio.get_running_loop().time() < deadline, "the window never ended"
            await asyncio.sleep(0.1)


async def test_a_redis_outage_lets_verification_through(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    throttle = VerifyThrottle(connect_redis(down), misses_per_ip=0, window_seconds=60)
    await throttle.record_miss(address())

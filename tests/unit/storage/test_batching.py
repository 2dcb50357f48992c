"""The coalescer behind the shard client and the rate-limit gate: what arrives while a batch is
in flight goes as the next batch, and each caller gets its own answer or error."""

import asyncio

import pytest

from storage.batching import Coalescer


class Recorder:
    """A `send` that records its batches and holds each one until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.sent = asyncio.Event()

    async def send(self, batch: list[int]) -> list[int | BaseException]:
        self.batches.append(batch)
        self.sent.set()
        await self.release.wait()
        return [ValueError(item) if item < 0 else item * 10 for item in batch]


async def test_calls_made_while_a_batch_is_in_flight_go_together_next() -> None:
    recorder = Recorder()
    calls = Coalescer(recorder.send)
    first = calls.submit(1)
    await recorder.sent.wait()
    later = [calls.submit(item) for item in (2, 3, 4)]
    recorder.release.set()
    assert await asyncio.gather(first, *later) == [10, 20, 30, 40]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_an_error_result_reaches_its_own_caller_only() -> None:
    recorder = Recorder()
    recorder.release.set()
    calls = Coalescer(recorder.send)
    good, bad = calls.submit(5), calls.submit(-1)
    assert await good == 50
    with pytest.raises(ValueError):
        await bad


async def test_a_failed_send_fails_its_batch_and_the_next_batch_still_goes() -> None:
    batches: list[list[int]] = []
    in_flight = asyncio.Event()
    go_on = asyncio.Event()

    async def send(batch: list[int]) -> list[int]:
        batches.append(batch)
        if len(batches) == 1:
            in_flight.set()
            await go_on.wait()
            raise ConnectionError("the server went away")
        return batch

    calls = Coalescer(send)
    doomed = [calls.submit(1), calls.submit(2)]
    await in_flight.wait()
    survivor = calls.submit(3)
    go_on.set()
    for answer in doomed:
        with pytest.raises(ConnectionError):
            await answer
    assert await survivor == 3
    assert batches == [[1, 2], [3]]


async def test_with_room_for_two_batches_a_call_goes_while_one_is_in_flight() -> None:
    recorder = Recorder()
    calls = Coalescer(recorder.send, in_flight=2)
    first = calls.submit(1)
    await recorder.sent.wait()
    recorder.sent.clear()
    second = calls.submit(2)
    await recorder.sent.wait()  # sent at once, beside the first
    third, fourth = calls.submit(3), calls.submit(4)  # both senders busy: these wait together
    recorder.release.set()
    assert await asyncio.gather(first, second, third, fourth) == [10, 20, 30, 40]
    assert recorder.batches == [[1], [2], [3, 4]]

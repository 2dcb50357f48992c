"""Micro-batching for the calls a replica makes many times a second: calls that arrive while a
batch is in flight wait, and go together as the next batch. One round trip then carries as
many calls as arrived during the last one, so a busier replica sends fuller batches, not more
of them, and an idle one sends each call at once.

The shard client batches actor calls this way (actors/client.py), the rate-limit gate its
Redis checks (storage/ratelimit.py) and the course cache its reads (storage/course_cache.py).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalescer(Generic[Item, Result]):
    """At most `in_flight` batches on their way; what is submitted meanwhile goes in the next.

    `send` answers a batch with one result per item, in order. A result that is an exception is
    raised to its own caller only; an exception raised by `send` goes to every caller of the
    batch, and the next batch is sent all the same.

    One batch in flight batches the most, and a call waits for the batch before it. A second
    one lets a call go while the batch ahead waits on something the far side batches anyway
    (the shard's group commit); a cheap round trip (Redis) allows a few, so a call rarely
    waits for another's answer."""

    def __init__(
        self,
        send: Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]],
        in_flight: int = 1,
    ) -> None:
        self._send, self._in_flight = send, in_flight
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        # The senders on their way, held here too (the loop holds tasks weakly). Each leaves
        # as it ends, not in a done callback a tick later, when a call might find no room
        # while no sender is left to take it.
        self._senders: set[asyncio.Task[None]] = set()

    def submit(self, item: Item) -> asyncio.Future[Result]:
        answer: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        if len(self._waiting) == 1 and len(self._senders) < self._in_flight:
            self._senders.add(asyncio.create_task(self._drain()))
        return answer

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._answer(batch)
        finally:
            self._senders.discard(asyncio.current_task())  # type: ignore[arg-type]

    async def _answer(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._send([item for item, _ in batch])
        except Exception as error:  # every caller of the batch gets it, none waits forever
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(error)
            return
        for (_, answer), result in zip(batch, results, strict=True):
            if answer.done():  # its caller gave up (cancelled)
                continue
            if isinstance(result, BaseException):
                answer.set_exception(result)
            else:
                answer.set_result(result)

"""Single-flight loading: concurrent activations of one entity share one database read."""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class SingleFlight:
    def __init__(self) -> None:
        self.inflight: dict[Hashable, asyncio.Future] = {}

    async def load(self, key: Hashable, fetch: Callable[[], Awaitable[Any]]) -> Any:
        future = self.inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(fetch())
            self.inflight[key] = future
            future.add_done_callback(lambda _: self.inflight.pop(key, None))
        return await asyncio.shield(future)

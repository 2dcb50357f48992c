"""Connecting to Temporal with the configured address and namespace."""

import asyncio
import logging

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor

from core.errors import DependencyDown
from core.settings import Settings

log = logging.getLogger(__name__)


async def connect(settings: Settings) -> Client:
    """A client whose workflow starts carry the caller's trace into workflows and activities
    (and so do workers built on it)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        interceptors=[TracingInterceptor()],
    )


class TemporalConnection:
    """The process's one Temporal client, connected on first use (a replica starts while
    Temporal may still be coming up); an unreachable server is a 503 for the caller."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Client | None = None
        self._connecting = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._connecting:
                if self._client is None:
                    self._client = await self._connect()
        return self._client

    async def _connect(self) -> Client:
        try:
            return await asyncio.wait_for(
                connect(self.settings), self.settings.dependency_timeout_seconds
            )
        except (OSError, RuntimeError, TimeoutError) as error:
            log.warning("event=temporal_unreachable error=%s", type(error).__name__)
            raise DependencyDown("The workflow engine is unavailable; try again") from None

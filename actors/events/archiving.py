"""The event archive's loop in the events actor: the relay hands it every batch it published,
and it writes them to the object store as Parquet (storage/event_archive.py) once a batch is
full or every `event_archive_flush_seconds`. A failed write keeps the events buffered and the
supervisor retries; the relay never waits on the object store."""

import asyncio
import contextlib

from actors.events.supervise import Health
from core.events import parse_event
from core.settings import Settings
from storage.event_archive import EventArchive


class Archiving:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.archive = EventArchive(settings)
        self.full = asyncio.Event()

    def keep(self, payloads: list[str]) -> None:
        """The relay's published rows (their JSON payloads), in publishing order."""
        self.archive.keep(parse_event(payload) for payload in payloads)
        if self.archive.full:
            self.full.set()

    async def run(self, health: Health) -> None:
        """One session: flush when full or on the interval, until a failure."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.full.wait(), self.settings.event_archive_flush_seconds)
            self.full.clear()
            await self.archive.flush()
            await health.beat()

"""The events actor's archive loop: what the relay published reaches the object store as
Parquet, a file per day and topic, within the flush interval, with every event once."""

import asyncio
import io
import uuid

import pyarrow.parquet as pq

from actors.events.archiving import Archiving
from actors.events.supervise import Health
from core.settings import Settings
from serve.stack import LocalStack
from storage.health import s3_client
from tests.e2e.catalog import poll
from tests.integration.storage.test_event_delivery import sample


async def test_published_batches_are_archived_within_the_flush_interval(
    settings: Settings, servers: LocalStack
) -> None:
    own = settings.model_copy(
        update={
            "event_archive_enabled": True,
            "event_archive_flush_seconds": 0.2,
            "event_archive_prefix": f"archive-test-{uuid.uuid4().hex[:8]}",
        }
    )
    events = [sample("enrollment.dropped"), sample("progress.updated"), sample("user.registered")]
    archiving = Archiving(own)
    loop = asyncio.create_task(archiving.run(Health("archive", own, None)))
    try:
        # The relay hands over the payloads of each batch the broker acknowledged.
        archiving.keep([event.model_dump_json() for event in events[:2]])
        archiving.keep([events[2].model_dump_json()])
        store = s3_client(own)

        async def archived() -> list[str] | None:
            listing = store.list_objects_v2(Bucket=own.s3_bucket, Prefix=own.event_archive_prefix)
            keys = [item["Key"] for item in listing.get("Contents", [])]
            written = len(keys) == len(events) and archiving.archive.buffered == 0
            return keys if written else None

        keys = await poll(archived, within=30)
    finally:
        loop.cancel()
    ids = []
    for key in keys:
        body = store.get_object(Bucket=own.s3_bucket, Key=key)["Body"].read()
        ids += [str(value) for value in pq.read_table(io.BytesIO(body)).column("id").to_pylist()]
    assert sorted(ids) == sorted(str(event.id) for event in events)

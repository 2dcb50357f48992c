"""Kafka through aiokafka: topic names (with the deployment's prefix), creating the seed's topics
with their partition counts, producer/consumer construction, and the epoch marker that tells
whether the broker still holds its log.

The local broker (Tansu) has no idempotent producer, so none is asked for: outbox ids and
idempotent consumers give effectively-once delivery (DESIGN.md, Events)."""

import contextlib
import json
import logging

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from core.events import TOPICS
from core.settings import Settings

DLQ_SUFFIX = ".dlq"
# The relay names each message's event type in this header, so a consumer group skips the types
# it does not handle without parsing the payload (messages from before it have none).
EVENT_TYPE_HEADER = "event_type"
# One message, written by the relay once the broker holds its log: a broker without it has
# lost its log (the local in-memory broker after a restart), and the relay replays the outbox.
EPOCH_TOPIC = "outbox.epoch"
log = logging.getLogger(__name__)


def topic_name(settings: Settings, topic: str) -> str:
    return f"{settings.kafka_topic_prefix}{topic}"


async def ensure_topics(settings: Settings) -> dict[str, int]:
    """Create every topic of the seed (and its dead-letter topic) that is missing; answer the
    partition count of each as the broker has it.

    A topic the broker auto-created (a client asked for it before this ran, e.g. after the
    local in-memory broker restarted) may have fewer partitions than the seed's: keys still
    keep each aggregate in order, only parallelism is lower, so it is logged, not fatal."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted: dict[str, NewTopic] = {}
        for topic in TOPICS:
            for name, partitions in ((topic.name, topic.partitions), (topic.name + DLQ_SUFFIX, 1)):
                full = topic_name(settings, name)
                config = {"retention.ms": str(topic.retention_ms)}
                wanted[full] = NewTopic(full, partitions, 1, topic_configs=config)
        epoch = topic_name(settings, EPOCH_TOPIC)
        wanted[epoch] = NewTopic(epoch, 1, 1, topic_configs={"retention.ms": "-1"})
        missing = [topic for name, topic in wanted.items() if name not in existing]
        if missing:
            # Another process may create them at the same moment.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        described = await admin.describe_topics(list(wanted))
    finally:
        await admin.close()
    counts = {topic["topic"]: len(topic["partitions"]) for topic in described}
    for name, count in counts.items():
        if count < wanted[name].num_partitions:
            log.warning(
                "event=topic_underpartitioned topic=%s partitions=%d wanted=%d",
                name,
                count,
                wanted[name].num_partitions,
            )
    return counts


def epoch_reader(settings: Settings) -> AIOKafkaConsumer:
    """A consumer in no group, only for the epoch topic's end offset."""
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)


async def log_kept(settings: Settings, reader: AIOKafkaConsumer) -> bool:
    """Whether the broker still holds the epoch marker, i.e. the log the relay published to."""
    partition = TopicPartition(topic_name(settings, EPOCH_TOPIC), 0)
    ends = await reader.end_offsets([partition])
    return ends.get(partition, 0) > 0


async def mark_epoch(settings: Settings, kafka: AIOKafkaProducer) -> None:
    """Write the epoch marker (raw producer); from now on the broker holds the relay's log."""
    await kafka.send_and_wait(topic_name(settings, EPOCH_TOPIC), b"epoch", key=b"epoch")


def producer(settings: Settings, *, raw: bool = False) -> AIOKafkaProducer:
    """A producer of JSON values and string keys, or of bytes as they are (`raw`)."""
    serializers = (
        {}
        if raw
        else {
            "value_serializer": lambda value: json.dumps(value).encode(),
            "key_serializer": lambda key: key.encode(),
        }
    )
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=5,
        # Generous: a send that times out is retried, and without idempotence it may repeat.
        request_timeout_ms=30_000,
        **serializers,
    )


def consumer(
    settings: Settings,
    group: str,
    topics: list[str],
    listener: ConsumerRebalanceListener | None = None,
) -> AIOKafkaConsumer:
    """A group member subscribed to `topics` (told of its assignments, with a `listener`)."""
    source = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=200,
        # aiokafka's default is 5 minutes: a topic recreated after a broker lost it (the local
        # in-memory broker on restart) would stall the group that long. A few topics per
        # consumer make a 10 s refresh cheap.
        metadata_max_age_ms=10_000,
        # An idle group asks for news once a second instead of twice: with four groups the local
        # broker's idle CPU went from 4.6 to 2.6 % of a core and delivery stayed as fast. It does
        # not answer a waiting fetch when a message arrives, so a longer wait (2 s) shows in the
        # event lag (benchmarks/results/broker_idle.md).
        fetch_max_wait_ms=1000,
    )
    source.subscribe([topic_name(settings, topic) for topic in topics], listener=listener)
    return source

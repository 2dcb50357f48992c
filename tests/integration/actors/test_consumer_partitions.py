"""A consumer group assigned a partition the broker does not have goes on (the real broker).

After the local broker restarts empty, a client's metadata request can re-create a topic with
the broker's default partition count before the relay creates it with the seed's; a group that
rejoined on the old metadata then holds partitions that no longer exist. aiokafka's `position`
and `seek_to_beginning` wait for such a partition until it exists, and a consumer loop that
awaited them stopped going round."""

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from actors.events.consumer import GroupConsumer, read_from_start
from actors.events.relay import quietly
from storage.db import Database
from storage.kafka import ensure_topics, topic_name
from tests.conftest import System
from tests.e2e.catalog import poll


async def test_a_partition_the_broker_does_not_have_holds_up_no_round(system: System) -> None:
    settings = system.settings
    topic = topic_name(settings, "user.events")
    partitions = (await ensure_topics(settings))[topic]
    there, missing = TopicPartition(topic, 0), TopicPartition(topic, partitions)
    source = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await source.start()
    group = GroupConsumer(settings, "analytics-consumer", Database(settings))
    try:
        source.assign([there, missing])
        for _ in range(3):  # rounds of the loop, each measuring the lag
            await asyncio.wait_for(group.measure_lag(source), 5)
        # Reading a partition from its start (after a log loss) does not wait for the broker.
        read_from_start(source, [there, missing])
        assert await asyncio.wait_for(source.position(there), 5) == 0
    finally:
        await source.stop()


async def test_the_lag_of_a_topic_is_the_sum_over_its_partitions(system: System) -> None:
    settings = system.settings
    topic = topic_name(settings, "user.events")
    await ensure_topics(settings)
    first, second = TopicPartition(topic, 0), TopicPartition(topic, 1)
    writer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    source = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await writer.start()
    await source.start()
    group = GroupConsumer(settings, "analytics-consumer", Database(settings))
    try:
        for partition in (first, second):
            await writer.send_and_wait(topic, b"{}", partition=partition.partition)
        source.assign([first, second])

        async def ends_known() -> bool:
            await source.getmany(timeout_ms=100)
            return None not in (source.highwater(first), source.highwater(second))

        await poll(ends_known, within=10)
        read_from_start(source, [first, second])
        lag = await group.measure_lag(source)
        assert lag == {topic: source.highwater(first) + source.highwater(second)}
    finally:
        await quietly(writer.stop(), source.stop())

"""What the consumers' fetch wait costs: the local broker's and four idle consumer groups' CPU
over 30 s with nothing to read, and the delivery time of messages sent one at a time after
that, for a few `fetch_max_wait_ms` values (issue 14: the idle stack).

Each value gets a fresh broker (the stack's own command) and four groups subscribed to the four
domain topics, reading as the events actor does (`getmany` every 500 ms). Values alternate
round by round; the report gives each one's median.

`python -m benchmarks.broker_idle [--rounds 2] [--report benchmarks/results/broker_idle.md]`
(about four minutes; not part of any test run).
"""

import argparse
import asyncio
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from benchmarks.machine import machine, python_speed
from benchmarks.rounds import alternate, medians
from core.events import TOPICS
from core.settings import Settings
from serve.processes import free_port, port_open
from serve.stack import LocalStack
from storage.kafka import ensure_topics, topic_name

WAITS_MS = (500, 1000, 2000)
GROUPS, IDLE_SECONDS, SENDS = 4, 30.0, 10


class Joined(ConsumerRebalanceListener):
    def __init__(self) -> None:
        self.assigned = asyncio.Event()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned:
            self.assigned.set()


def cpu(process: psutil.Process) -> float:
    return sum(process.cpu_times()[:2])


async def measure(settings: Settings, broker: psutil.Process, wait_ms: int) -> dict[str, float]:
    await ensure_topics(settings)
    topics = [topic_name(settings, topic.name) for topic in TOPICS]
    joined = [Joined() for _ in range(GROUPS)]
    readers = []
    for n, listener in enumerate(joined):
        reader = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=f"idle-{n}",
            auto_offset_reset="latest",
            fetch_max_wait_ms=wait_ms,
        )
        reader.subscribe(topics, listener=listener)
        readers.append(reader)
    delays: list[float] = []
    all_read = asyncio.Event()

    async def read(reader: AIOKafkaConsumer) -> None:
        while True:
            for messages in (await reader.getmany(timeout_ms=500)).values():
                delays.extend(time.time() - float(m.value) for m in messages)
            if len(delays) >= SENDS * GROUPS:
                all_read.set()

    for reader in readers:
        await reader.start()
    reading = [asyncio.create_task(read(reader)) for reader in readers]
    try:
        for listener in joined:
            await listener.assigned.wait()
        me = psutil.Process()
        broker_before, own_before = cpu(broker), cpu(me)
        await asyncio.sleep(IDLE_SECONDS)  # the idle window being measured
        idle = {"broker": cpu(broker) - broker_before, "consumers": cpu(me) - own_before}
        writer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
        await writer.start()
        try:
            for n in range(SENDS):
                await writer.send_and_wait(topics[n % len(topics)], str(time.time()).encode())
                await asyncio.sleep(0.7)  # one message at a time, as on an idle stack
            await all_read.wait()
        finally:
            await writer.stop()
    finally:
        for task in reading:
            task.cancel()
        for reader in readers:
            await reader.stop()
    return {
        "broker": 100 * idle["broker"] / IDLE_SECONDS,
        "consumers": 100 * idle["consumers"] / IDLE_SECONDS,
        "p50": 1000 * statistics.median(delays),
        "max": 1000 * max(delays),
    }


def one_round(wait_ms: int) -> dict[str, float]:
    settings = Settings(kafka_bootstrap=f"127.0.0.1:{free_port()}")
    command = LocalStack(settings, headless=True).commands()["kafka"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not port_open(settings.kafka_bootstrap, 9092):
            time.sleep(0.1)  # the broker is starting
        return asyncio.run(measure(settings, psutil.Process(server.pid), wait_ms))
    finally:
        server.terminate()
        server.wait(30)


def report(results: dict[int, list[dict[str, float]]]) -> str:
    lines = [
        "# The local broker and idle consumers: CPU and delivery by fetch wait",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python -m benchmarks.broker_idle` on "
        f"{machine()}; {len(results[WAITS_MS[0]])} rounds per value, values alternating. "
        f"{GROUPS} groups on the {len(TOPICS)} topics idle for {IDLE_SECONDS:.0f} s, then "
        f"{SENDS} messages sent 0.7 s apart, each read by every group.",
        "",
        "| fetch_max_wait_ms | broker idle % of a core | consumers idle % | delivery p50 ms "
        "| delivery max ms |",
        "|---:|---:|---:|---:|---:|",
    ]
    for wait_ms, rounds in results.items():
        median = medians(rounds)
        lines.append(
            f"| {wait_ms} | {median['broker']:.1f} | {median['consumers']:.1f} | "
            f"{median['p50']:.0f} | {median['max']:.0f} |"
        )
    lines += [
        "",
        "Tansu does not answer a waiting fetch as soon as a message arrives, so a longer wait "
        "is paid in delivery time past some point; storage/kafka.py uses 1000 ms, the longest "
        "wait here that did not delay delivery.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--report", type=Path, default=Path("benchmarks/results/broker_idle.md"))
    args = parser.parse_args()
    python_speed()  # the speed reference, taken before this run starts anything
    results = alternate(WAITS_MS, args.rounds, one_round)
    args.report.write_text(report(results))
    print(f"wrote {args.report}")


if __name__ == "__main__":
    main()

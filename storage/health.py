"""Readiness probes of every server the system depends on, shared by the gateway's /readyz and
the local stack launcher. Each answers None when reachable, or a short reason; none raises."""

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import boto3
import redis.asyncio as aioredis
from aiokafka import AIOKafkaClient
from botocore.config import Config
from kombu import Connection
from temporalio.client import Client

from core.settings import Settings
from storage.dsn import plain_dsn

Probe = Callable[[Settings], Awaitable[None]]


async def probe_postgres(settings: Settings) -> None:
    conn = await asyncpg.connect(plain_dsn(settings.database_url))
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


async def probe_redis(settings: Settings) -> None:
    client = aioredis.from_url(settings.redis_url)
    try:
        await client.ping()
    finally:
        await client.aclose()


def amqp_handshake(settings: Settings) -> None:
    with Connection(
        settings.rabbitmq_url, connect_timeout=settings.dependency_timeout_seconds
    ) as conn:
        conn.connect()


async def probe_rabbitmq(settings: Settings) -> None:
    await asyncio.to_thread(amqp_handshake, settings)


async def probe_kafka(settings: Settings) -> None:
    client = AIOKafkaClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=2000)
    try:
        await client.bootstrap()
    finally:
        await client.close()


async def probe_temporal(settings: Settings) -> None:
    await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)


def s3_client(settings: Settings):
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
        config=Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 1}),
    )


async def probe_s3(settings: Settings) -> None:
    await asyncio.to_thread(s3_client(settings).head_bucket, Bucket=settings.s3_bucket)


PROBES: dict[str, Probe] = {
    "postgres": probe_postgres,
    "redis": probe_redis,
    "rabbitmq": probe_rabbitmq,
    "kafka": probe_kafka,
    "temporal": probe_temporal,
    "s3": probe_s3,
}


async def probe(name: str, settings: Settings) -> str | None:
    try:
        await asyncio.wait_for(PROBES[name](settings), settings.dependency_timeout_seconds)
    except TimeoutError:
        return "timed out"
    except Exception as error:
        return f"{type(error).__name__}: {str(error)[:120]}"
    return None


async def probe_all(settings: Settings) -> dict[str, str | None]:
    """Every dependency's state, probed concurrently."""
    names = list(PROBES)
    results = await asyncio.gather(*(probe(name, settings) for name in names))
    return dict(zip(names, results, strict=True))

"""Connecting to Temporal with the configured address and namespace."""

from temporalio.client import Client

from core.settings import Settings


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)

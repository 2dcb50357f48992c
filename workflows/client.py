"""Connecting to Temporal with the configured address and namespace."""

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor

from core.settings import Settings


async def connect(settings: Settings) -> Client:
    """A client whose workflow starts carry the caller's trace into workflows and activities
    (and so do workers built on it)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        interceptors=[TracingInterceptor()],
    )

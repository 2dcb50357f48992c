"""The gateway replica's process-wide context: settings, the in-process services and the
materials deployment's handle, set once at start.

Serve copies the FastAPI app into each replica, so state is kept here rather than on `app.state`.
Routes reach it through the `context` dependency.
"""

from dataclasses import dataclass, field
from typing import Any

from core.settings import Settings


@dataclass
class GatewayContext:
    settings: Settings
    services: dict[str, Any] = field(default_factory=dict)
    materials: Any = None


_current: GatewayContext | None = None


def install(context: GatewayContext) -> None:
    global _current
    _current = context


async def context() -> GatewayContext:
    """FastAPI dependency: the context of this replica. Async, so FastAPI calls it on the event
    loop: a plain function would cost every request a hop to a worker thread and back."""
    if _current is None:
        raise RuntimeError("gateway context not installed: the Gateway deployment sets it")
    return _current

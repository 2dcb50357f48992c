"""What every baseline route uses: the settings, the connection pool, the caller's verified
token, and outbox rows."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
from asyncpg.pool import PoolAcquireContext
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel

from core.errors import Unauthorized
from core.events import make_event
from core.settings import get_settings
from core.tokens import AccessClaims, verify_access_token
from storage.dsn import plain_dsn
from storage.outbox import outbox_row

settings = get_settings()
OUTBOX = """
INSERT INTO outbox (event_id, event_type, topic, key, payload) VALUES ($1, $2, $3, $4, $5)
"""
_pool: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global _pool
    _pool = await asyncpg.create_pool(plain_dsn(settings.database_url), min_size=10, max_size=20)
    yield
    await _pool.close()


def connection() -> PoolAcquireContext:
    """A pooled connection: `async with connection() as conn`."""
    return _pool.acquire()


async def optional_claims(
    authorization: Annotated[str | None, Header()] = None,
) -> AccessClaims | None:
    if authorization is None:
        return None
    try:
        return verify_access_token(
            settings.require_jwt_secret(), authorization.removeprefix("Bearer ")
        )
    except Unauthorized:
        raise HTTPException(401) from None


async def claims(found: Annotated[AccessClaims | None, Depends(optional_claims)]) -> AccessClaims:
    if found is None:
        raise HTTPException(401)
    return found


Caller = Annotated[AccessClaims, Depends(claims)]


async def emit(conn: asyncpg.Connection, event_type: str, subject: int, data: BaseModel) -> None:
    """The event's outbox row, in the caller's transaction."""
    row = outbox_row(make_event(event_type, str(subject), data, "baseline"))
    payload = json.dumps(row["payload"])
    await conn.execute(
        OUTBOX, row["event_id"], row["event_type"], row["topic"], row["key"], payload
    )

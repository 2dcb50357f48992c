"""The baseline: a plain FastAPI + asyncpg app serving the benchmarks' routes with plain SQL
against the same database and schema, one transaction per write, served by one uvicorn worker
(`python -m benchmarks.baseline PORT`).

Same paths, JSON shapes and status codes as the gateway for what the scenarios call: the catalog
(list, detail), authoring (course, module, lesson, publish), enrollment, lesson completion, quiz
submission, progress reads, my courses and notifications. What it leaves out is what the system
adds around them: no cache, no rate limit, no actors, no workflows (an enrollment is active and
a course published at once), one outbox event per enrollment or completion.
"""

from fastapi import FastAPI

from benchmarks.baseline import catalog, learning
from benchmarks.baseline.context import lifespan

app = FastAPI(lifespan=lifespan)
app.include_router(catalog.router)
app.include_router(learning.router)

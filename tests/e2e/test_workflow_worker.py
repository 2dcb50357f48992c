"""The Temporal worker dies: a course being published waits durably in Temporal and finishes,
once, when the system brings the worker back; an enrollment made meanwhile is accepted, and set
up then."""

import asyncio

import httpx
import ray
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from actors.placement import WORKER_HOST
from actors.pool import NAMESPACE, ensure_actors
from storage.temporal import connect
from tests.conftest import System
from tests.e2e.accounts import account
from tests.e2e.catalog import (
    active_enrollment,
    draft_course,
    poll,
    published_course,
    wait_for_status,
)


async def test_publish_finishes_after_the_worker_is_killed_and_restarted(
    client: httpx.AsyncClient, system: System
) -> None:
    owner = await account(system.settings, "instructor")
    course = await draft_course(client, owner)
    ray.kill(ray.get_actor(WORKER_HOST, namespace=NAMESPACE), no_restart=True)

    started = await client.post(f"/courses/{course['id']}/publish", headers=owner.headers)
    assert started.status_code == 202
    temporal = await connect(system.settings)
    handle = temporal.get_workflow_handle(started.json()["workflow_id"])

    async def scheduled() -> bool:
        history = await handle.fetch_history()
        return any(
            e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED for e in history.events
        )

    await poll(scheduled)
    await asyncio.sleep(1)  # nobody is there to run it: it stays put, not lost
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    stuck = (await client.get(f"/courses/{course['id']}", headers=owner.headers)).json()
    assert stuck["status"] == "publishing"

    await asyncio.to_thread(ensure_actors, system.settings)
    await wait_for_status(client, owner, course["id"], "published")
    assert await handle.result() == "published"

    async def closed_runs() -> list[WorkflowExecutionStatus]:
        # Temporal's visibility store catches up with the history a moment later.
        runs = [w.status async for w in temporal.list_workflows(f"WorkflowId = '{handle.id}'")]
        return runs if runs and WorkflowExecutionStatus.RUNNING not in runs else []

    assert await poll(closed_runs) == [WorkflowExecutionStatus.COMPLETED]


async def test_an_enrollment_is_accepted_while_the_worker_host_is_gone_and_set_up_on_its_return(
    client: httpx.AsyncClient, system: System
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner)
    ray.kill(ray.get_actor(WORKER_HOST, namespace=NAMESPACE), no_restart=True)

    answer = await client.post(
        "/enrollments", json={"course_id": course["id"]}, headers=student.headers
    )
    assert answer.status_code == 202, answer.text
    temporal = await connect(system.settings)
    handle = temporal.get_workflow_handle(answer.json()["workflow_id"])
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    await asyncio.to_thread(ensure_actors, system.settings)
    enrollment = await active_enrollment(client, student, course["id"])
    assert enrollment["id"] == answer.json()["enrollment_id"]
    assert await handle.result() == "active"

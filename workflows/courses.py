"""CoursePublishingWorkflow and CourseArchiveWorkflow: orchestration only, every effect is an
activity with a timeout and the seed's retry policy (1 s doubling to 60 s, 5 attempts)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.inputs import CourseRequest, PublishFailed

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=5,
)
TIMEOUT = timedelta(seconds=60)
PUBLISH_STEPS = (
    "validate_course",
    "process_content",
    "update_search_index",
    "mark_published",
    "publish_event",
)
COMPENSATIONS = ("revert_to_draft", "remove_course_content", "notify_publish_failed")


async def step(name: str, argument: object) -> None:
    await workflow.execute_activity(
        name, argument, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
    )


async def local_step(name: str, argument: object) -> None:
    """A short activity run by the workflow's own worker: no round trip through the server's
    task queue per step, retried locally with the same policy (it must be idempotent, as
    every activity here is, since a worker lost mid-task runs it again)."""
    await workflow.execute_local_activity(
        name, argument, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
    )


def reason_of(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.message:
        return cause.message
    return str(cause or error)


@workflow.defn(name="CoursePublishingWorkflow")
class CoursePublishingWorkflow:
    @workflow.run
    async def run(self, request: CourseRequest) -> str:
        try:
            for name in PUBLISH_STEPS:
                await step(name, request)
        except ActivityError as error:
            # Saga: undo what the steps did, back to draft with the reason for the instructor.
            failed = PublishFailed(request.course_id, request.workflow_id, reason_of(error))
            for name in COMPENSATIONS:
                await step(name, failed)
            return "draft"
        return "published"


@workflow.defn(name="CourseArchiveWorkflow")
class CourseArchiveWorkflow:
    @workflow.run
    async def run(self, request: CourseRequest) -> str:
        for name in ("mark_archived", "notify_course_archived"):
            await step(name, request)
        return "archived"

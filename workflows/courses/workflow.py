"""CoursePublishingWorkflow and CourseArchiveWorkflow: orchestration only, every effect is an
activity with a timeout and the seed's retry policy (workflows/policies.py)."""

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.status import CourseStatus
    from storage.temporal import ARCHIVE, PUBLISHING, CourseRequest
    from workflows.courses.activities import CourseActivities, PublishFailed
    from workflows.policies import SEED

PUBLISH_STEPS = (
    CourseActivities.validate_course,
    CourseActivities.process_content,
    CourseActivities.update_search_index,
    CourseActivities.mark_published,
    CourseActivities.publish_event,
)
COMPENSATIONS = (
    CourseActivities.revert_to_draft,
    CourseActivities.remove_course_content,
    CourseActivities.notify_publish_failed,
)
ARCHIVE_STEPS = (CourseActivities.mark_archived, CourseActivities.notify_course_archived)


def reason_of(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.message:
        return cause.message
    return str(cause or error)


@workflow.defn(name=PUBLISHING)
class CoursePublishingWorkflow:
    @workflow.run
    async def run(self, request: CourseRequest) -> str:
        try:
            for step in PUBLISH_STEPS:
                await workflow.execute_activity_method(step, request, **SEED)
        except ActivityError as error:
            # Saga: undo what the steps did, back to draft with the reason for the instructor.
            failed = PublishFailed(request.course_id, request.workflow_id, reason_of(error))
            for compensation in COMPENSATIONS:
                await workflow.execute_activity_method(compensation, failed, **SEED)
            return CourseStatus.DRAFT
        return CourseStatus.PUBLISHED


@workflow.defn(name=ARCHIVE)
class CourseArchiveWorkflow:
    @workflow.run
    async def run(self, request: CourseRequest) -> str:
        for step in ARCHIVE_STEPS:
            await workflow.execute_activity_method(step, request, **SEED)
        return CourseStatus.ARCHIVED

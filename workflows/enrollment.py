"""EnrollmentWorkflow (seed): initialize progress, analytics, activate, welcome notification."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.courses import step
    from workflows.inputs import EnrollmentRequest

STEPS = (
    "initialize_progress",
    "update_analytics",
    "activate_enrollment",
    "send_welcome_notification",
)


@workflow.defn(name="EnrollmentWorkflow")
class EnrollmentWorkflow:
    @workflow.run
    async def run(self, request: EnrollmentRequest) -> str:
        for name in STEPS:
            await step(name, request)
        return "active"

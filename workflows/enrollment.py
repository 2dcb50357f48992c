"""EnrollmentWorkflow (seed): initialize progress, analytics, activate, welcome notification.

The steps are short database writes, run as local activities: a student waits for this
workflow, and under load each server round trip per step added seconds (benchmarks/run.py)."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.courses import local_step, step
    from workflows.inputs import EnrollmentRequest

STEPS = (
    "initialize_progress",
    "update_analytics",
    "activate_enrollment",
    "send_welcome_notification",
)


# Not sandboxed: the sandbox re-imports the workflow's modules for every run, the largest share
# of an enrollment's CPU in the worker; this workflow only calls local activities in order.
@workflow.defn(name="EnrollmentWorkflow", sandboxed=False)
class EnrollmentWorkflow:
    @workflow.run
    async def run(self, request: EnrollmentRequest) -> str:
        # Runs started before the steps became local replay as they ran; drop the old branch
        # (deprecate_patch) once none of them is open.
        run_step = local_step if workflow.patched("local-enrollment-steps") else step
        for name in STEPS:
            await run_step(name, request)
        return "active"

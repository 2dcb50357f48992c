"""EnrollmentWorkflow (seed): start the enrollment's progress and activate it.

The welcome notice and the analytics figures follow from `enrollment.created`, which the shard
wrote to the outbox with the enrollment: the notification and analytics consumers make them,
so no notice or counter depends on this workflow (or bypasses the events).

Setting up is one local activity, one transaction: a student waits for this workflow, and
under load each server round trip per step added seconds (benchmarks/run.py); the seed's two
steps as two local activities cost the engine a second activation and a second marker
(benchmarks/results/temporal.md)."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.status import EnrollmentStatus
    from storage.temporal import ENROLLMENT, EnrollmentRequest
    from workflows.enrollment.activities import EnrollmentActivities
    from workflows.policies import SEED

# What runs started before setting up was one step ran; they replay these.
STEPS = (EnrollmentActivities.initialize_progress, EnrollmentActivities.activate_enrollment)
# And what runs started before the events became the only path ran.
OLD_STEPS = (
    EnrollmentActivities.initialize_progress,
    EnrollmentActivities.update_analytics,
    EnrollmentActivities.activate_enrollment,
    EnrollmentActivities.send_welcome_notification,
)


# Not sandboxed: the sandbox re-imports the workflow's modules for every run, the largest share
# of an enrollment's CPU in the worker; this workflow only calls local activities in order.
@workflow.defn(name=ENROLLMENT, sandboxed=False)
class EnrollmentWorkflow:
    @workflow.run
    async def run(self, request: EnrollmentRequest) -> str:
        if workflow.patched("one-setup-step"):
            setup = EnrollmentActivities.set_up_enrollment
            await workflow.execute_local_activity_method(setup, request, **SEED)
            return EnrollmentStatus.ACTIVE
        # Runs started before replay as they ran; drop these branches (deprecate_patch) once
        # none of them is open.
        local = workflow.patched("local-enrollment-steps")
        steps = STEPS if workflow.patched("notices-from-events") else OLD_STEPS
        for step in steps:
            if local:
                await workflow.execute_local_activity_method(step, request, **SEED)
            else:
                await workflow.execute_activity_method(step, request, **SEED)
        return EnrollmentStatus.ACTIVE

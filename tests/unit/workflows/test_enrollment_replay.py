"""EnrollmentWorkflow replays the histories its earlier versions wrote, so a run still open when
the workers are upgraded goes on where it was (the patches in workflows/enrollment/workflow.py).

The histories were recorded on Temporal's dev server with stand-in activities: the code before
issue 14's single step (two local activities) and the code after it."""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.enrollment.workflow import EnrollmentWorkflow

HISTORIES = Path(__file__).parent / "histories"


@pytest.mark.parametrize("version", ["enrollment-two-local-steps", "enrollment-one-step"])
async def test_a_run_of_each_version_replays(version: str) -> None:
    history = WorkflowHistory.from_json("enroll-41", (HISTORIES / f"{version}.json").read_text())
    replayed = await Replayer(workflows=[EnrollmentWorkflow]).replay_workflow(history)
    assert replayed.replay_failure is None

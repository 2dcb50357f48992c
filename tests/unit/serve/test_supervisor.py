"""The supervisor restarts a real child process that exits, one report line per restart with
its exit code, with delays that double per quick exit up to the cap; a stopped child is left
alone."""

import time
from pathlib import Path

from serve.processes import Backoff, ManagedProcess, Supervisor


def test_backoff_doubles_per_quick_exit_up_to_the_cap_and_starts_over_after_a_long_run() -> None:
    backoff = Backoff(initial=0.5, maximum=4.0, started_at=0.0)
    delays = []
    for now in (1.0, 2.0, 3.0, 4.0, 5.0):
        delays.append(backoff.schedule(now))
        backoff.started_at = now
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff.schedule(100.0) == 0.5  # it ran longer than the cap before exiting


def wait_for(condition, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.05)


def test_an_exiting_child_is_restarted_and_reported_until_stopped(tmp_path: Path) -> None:
    child = ManagedProcess("quitter", ["sh", "-c", "exit 3"], tmp_path)
    child.start()
    lines: list[str] = []
    supervisor = Supervisor(lambda: {"quitter": child}, lines.append, 0.1, 2.0)
    supervisor.start()
    try:
        wait_for(lambda: len(lines) >= 3, 10)
    finally:
        supervisor.stop()
    assert lines[:3] == [
        "supervisor: quitter exited (code 3); restarting in 0.1s",
        "supervisor: quitter exited (code 3); restarting in 0.2s",
        "supervisor: quitter exited (code 3); restarting in 0.4s",
    ]
    child.stop()
    assert child.exited() is None  # stopped on purpose: nothing for a supervisor to restart

"""The local stack starts its background servers niced (serve/processes.py niced)."""

from serve.processes import niced


def test_a_command_is_run_through_nice_unless_the_level_is_zero() -> None:
    assert niced(["tansu", "broker"], 10) == ["nice", "-n", "10", "tansu", "broker"]
    assert niced(["tansu", "broker"], 0) == ["tansu", "broker"]

"""The benchmark's CPU table names each process after what it runs, so the lines add up per
part of the stack (every replica of one deployment on one line)."""

import pytest

from benchmarks.cpu import label


@pytest.mark.parametrize(
    ("name", "cmdline", "expected"),
    [
        ("ray::Shard", ["ray::Shard"], "ray::Shard"),
        (
            "ray::ServeRepli",
            ["ray::ServeReplica:smartcourse:gateway.handle_request", ""],
            "ray::ServeReplica:smartcourse:gateway",
        ),
        (
            "ray::SERVE_REPL",
            [
                "ray::SERVE_REPLICA::smartcourse#materials#0gheg7m2:ServeReplica:smartcourse:materials"
            ],
            "ray::ServeReplica:smartcourse:materials",
        ),
        (
            "python",
            ["/venv/bin/python", "-m", "benchmarks.baseline", "7"],
            "python -m benchmarks.baseline",
        ),
        (
            "python3",
            ["/usr/bin/python3", "-u", "/ray/_private/log_monitor.py", "--x"],
            "python log_monitor.py",
        ),
        ("python", ["python", "-c", "print(1)"], "python -c"),
        ("postgres", ["postgres: 15/main: postgres smartcourse 127.0.0.1(5) idle"], "postgres"),
        ("tansu", ["/venv/lib/calfkit/bin/tansu", "broker"], "tansu"),
        ("kworker/0:1", [], "kworker/0:1"),
        ("kworker/u8:0-writeback", [], "kworker/u8:0"),
    ],
)
def test_a_process_is_named_after_what_it_runs(
    name: str, cmdline: list[str], expected: str
) -> None:
    assert label(name, cmdline) == expected

"""The Temporal server's samples are named from its own Go function table
(benchmarks/temporal_profile.py), on the binary the stack runs."""

import struct
from functools import cache
from pathlib import Path

import pytest

from benchmarks.temporal_profile import GoFunctions, count_samples
from serve.stack import venv_binary

BINARY = Path(venv_binary("temporal")).resolve()
START_RECORD = "visibilityQueueTaskExecutor).processStartExecution"


@cache
def functions() -> GoFunctions:
    return GoFunctions(BINARY)


def as_perf_gives_it(name: str) -> str:
    """An address inside the function `name` (the first one containing it), relative to the
    binary's load address, as `perf script` prints the frames of a binary it has no symbols of."""
    at = next(n for n, known in enumerate(functions().names) if name in known)
    return f"{functions().entries[at] + 1 - functions().load_base:x}"


def user_frame(name: str) -> str:
    return f"\t {as_perf_gives_it(name)} [unknown] ({BINARY})"


def test_the_entry_point_is_named_as_go_names_it() -> None:
    entry = struct.unpack_from("<Q", BINARY.read_bytes()[:0x20], 0x18)[0]
    assert functions().name(entry - functions().load_base) == "_rt0_amd64_linux"


def test_each_part_counts_the_samples_with_it_anywhere_on_their_stack() -> None:
    kernel = "\t ffffffff81000010 finish_task_switch.isra.0 ([kernel.kallsyms])"
    in_start_record = [
        user_frame("modernc.org/sqlite/lib._sqlite3Prepare"),
        user_frame(START_RECORD),
        user_frame("runtime.goexit"),
    ]
    script = "\n\n".join(
        [
            "\n".join([kernel, *in_start_record]),
            "\n".join(in_start_record),
            "\n".join([user_frame("runtime.sysmon"), user_frame("runtime.mstart")]),
            "\n".join([user_frame("runtime.gcBgMarkWorker"), user_frame("runtime.goexit")]),
        ]
    )
    samples = count_samples(script, functions())
    assert samples.total == 4
    assert samples.share("visibility: the run's start record") == 0.5
    assert samples.share("SQLite parsing statements") == 0.5
    assert samples.share("in the kernel") == 0.25
    assert samples.share("Go runtime: monitor thread (sysmon)") == 0.25
    assert samples.share("Go runtime: garbage collection") == 0.25
    assert samples.own["[kernel] finish_task_switch.isra.0"] == 1


def test_addresses_that_do_not_map_to_the_binary_are_refused() -> None:
    script = f"\t 10 [unknown] ({BINARY})\n\t 20 [unknown] ({BINARY})"
    with pytest.raises(RuntimeError, match="did not map"):
        count_samples(script, functions())

"""Where the Temporal dev server spends its CPU at the load mix's enrollment rate (issue 14).

`perf record` samples the server (the stack's own command) while EnrollmentWorkflow runs start
at a steady rate, as `benchmarks.temporal_cpu` starts them. The server's binary is stripped, so
`perf` cannot name its frames; a Go binary keeps its own function table (`.gopclntab`) for its
tracebacks, and `GoFunctions` names each sampled address from it. The report gives each
function's share of the samples, counting its callees (inclusive), for the parts of an
enrollment's work that the history of this benchmark follows, and the functions with the most
samples of their own.

`python -m benchmarks.temporal_profile [--seconds 40] [--report
benchmarks/results/temporal-profile.md]` (needs `perf`; about a minute; not part of any test
run).
"""

import argparse
import asyncio
import bisect
import shutil
import struct
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.machine import machine, python_speed
from benchmarks.temporal_cpu import CONFIGURATIONS, Server, fresh_server, measure
from serve.stack import venv_binary

KERNEL = "[kernel]"
GO_118_TABLES = (0xFFFFFFF0, 0xFFFFFFF1)  # the table's magic: Go 1.18-1.19, 1.20 and later
PACED = next(configuration for configuration in CONFIGURATIONS if configuration.per_second)
# The parts of an enrollment's work in the server, by a function each (inclusive shares).
PARTS = {
    "visibility queue, all": "visibilityQueueTaskExecutor).Execute",
    "visibility: the run's start record": "visibilityQueueTaskExecutor).processStartExecution",
    "visibility: the run's close record": "visibilityQueueTaskExecutor).processCloseExecution",
    "history: StartWorkflowExecution": "historyEngineImpl).StartWorkflowExecution",
    "history: RecordWorkflowTaskStarted": "historyEngineImpl).RecordWorkflowTaskStarted",
    "history: RespondWorkflowTaskCompleted": "historyEngineImpl).RespondWorkflowTaskCompleted",
    "frontend: StartWorkflowExecution": "WorkflowHandler).StartWorkflowExecution",
    "search attribute upserts (the patch markers')": "CommandUpsertWorkflowSearchAttributes",
    "SQLite parsing statements": "sqlite/lib._sqlite3Prepare",
    "Go runtime: monitor thread (sysmon)": "runtime.sysmon",
    "Go runtime: garbage collection": "runtime.gcBgMarkWorker",
    "in the kernel": KERNEL,
}


class GoFunctions:
    """The functions of a Go executable (Go 1.18+, x86-64 ELF), from its `.gopclntab`: the
    header gives the text start and the offsets of the function table and the names; each
    table entry is an entry offset and the offset of the function's record, whose second
    field is the offset of its name."""

    def __init__(self, binary: Path) -> None:
        data = binary.read_bytes()
        sections = elf_sections(data)
        offset = sections[".gopclntab"][1]
        if struct.unpack_from("<I", data, offset)[0] not in GO_118_TABLES:
            raise ValueError(f"{binary}: not a function table of Go 1.18 or later")
        fields = struct.unpack_from("<8Q", data, offset + 8)
        count, text_start, names_at, table_at = fields[0], fields[2], fields[3], fields[7]
        text_start = text_start or sections[".text"][0]
        table = offset + table_at
        self.entries: list[int] = []
        self.names: list[str] = []
        for n in range(count):
            entry, record = struct.unpack_from("<II", data, table + 8 * n)
            name_at = offset + names_at + struct.unpack_from("<i", data, table + record + 4)[0]
            self.entries.append(text_start + entry)
            self.names.append(data[name_at : data.index(b"\0", name_at)].decode(errors="replace"))
        self.load_base = text_load_base(data)

    def name(self, address: int) -> str:
        """The function holding `address`, as `perf script` gives it for a binary it has no
        symbols of: relative to the load address of the binary's text, added back here
        (`count_samples` checks that the stacks then make sense)."""
        at = bisect.bisect_right(self.entries, address + self.load_base) - 1
        return self.names[at] if at >= 0 else hex(address)


def elf_sections(data: bytes) -> dict[str, tuple[int, int]]:
    """Each section's address and file offset, by name (64-bit little-endian ELF)."""
    headers = struct.unpack_from("<Q", data, 0x28)[0]
    size, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
    rows = [struct.unpack_from("<IIQQQ", data, headers + n * size) for n in range(count)]
    names_at = rows[names_index][4]
    sections = {}
    for name, _, _, address, offset in rows:
        start = names_at + name
        sections[data[start : data.index(b"\0", start)].decode()] = (address, offset)
    return sections


def text_load_base(data: bytes) -> int:
    """Address minus file offset of the first executable LOAD segment."""
    headers = struct.unpack_from("<Q", data, 0x20)[0]
    size, count = struct.unpack_from("<HH", data, 0x36)
    for n in range(count):
        kind, flags, offset, address = struct.unpack_from("<IIQQ", data, headers + n * size)
        if kind == 1 and flags & 1:  # PT_LOAD, executable
            return address - offset
    raise ValueError("no executable segment")


# Every goroutine's stack ends in runtime.goexit, every other thread's in runtime.mstart.
ROOTS = ("runtime.goexit", "runtime.mstart")


@dataclass
class Samples:
    total: int
    parts: Counter[str]  # the samples with a frame of each part anywhere on their stack
    own: Counter[str]  # the samples in each function itself

    def share(self, part: str) -> float:
        return self.parts[part] / max(1, self.total)


def count_samples(script: str, functions: GoFunctions) -> Samples:
    """`perf script -F ip,sym,dso` output, one stack per blank-line-separated block, innermost
    frame first, counted against `PARTS`."""
    parts: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = rooted = 0
    for block in script.split("\n\n"):
        frames = [
            frame_name(line.strip(), functions) for line in block.splitlines() if line.strip()
        ]
        if not frames:
            continue
        total += 1
        own[frames[0]] += 1
        rooted += any(root in frame for frame in frames for root in ROOTS)
        parts.update(part for part, name in PARTS.items() if any(name in f for f in frames))
    if rooted < total / 2:
        raise RuntimeError("perf's addresses did not map to the binary's Go functions")
    return Samples(total, parts, own)


def frame_name(line: str, functions: GoFunctions) -> str:
    address, _, rest = line.partition(" ")
    if "[kernel" in rest:
        return f"{KERNEL} {rest.split(' (')[0]}"
    if "[unknown]" in rest:
        return functions.name(int(address, 16))
    return rest.split(" (")[0]


def profile(seconds: float) -> tuple[Samples, dict[str, float]]:
    """Sample the server for `seconds` of a paced round; the round's own figures beside."""
    with fresh_server(wal=True) as server:
        recording = server.data_dir / "perf.data"
        workflows = int(PACED.per_second * (seconds + 10))  # the recording sits inside the round
        perf = ["perf", "record", "-F", "499", "-g", "-o", str(recording)]
        perf += ["-p", str(server.process.pid), "--", "sleep", str(seconds)]
        figures = asyncio.run(record_round(server, workflows, perf))
        script = subprocess.run(
            ["perf", "script", "-i", str(recording), "-F", "ip,sym,dso"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    samples = count_samples(script, GoFunctions(Path(venv_binary("temporal")).resolve()))
    return samples, figures


async def record_round(server: Server, workflows: int, perf: list[str]) -> dict[str, float]:
    """A paced round, with `perf` started 5 s into it (the worker warm, the rate steady)."""

    async def sample() -> None:
        await asyncio.sleep(5)
        recorder = await asyncio.create_subprocess_exec(
            *perf, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if await recorder.wait() != 0:
            raise RuntimeError(f"perf record exited with {recorder.returncode}")

    sampler = asyncio.create_task(sample())
    figures = await measure(server.settings, server.process, PACED, workflows)
    await sampler
    return figures


def report(samples: Samples, figures: dict[str, float], seconds: float) -> str:
    lines = [
        "# Temporal: where the server's CPU goes at the load mix's enrollment rate",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python -m benchmarks.temporal_profile` "
        f"on {machine()}. EnrollmentWorkflow runs started {PACED.per_second:g} a second (stand-in "
        f"activities); `perf record -F 499 -g` of the server for {seconds:g} s of the round, "
        f"{samples.total:,} samples, named through the binary's `.gopclntab`. The round: "
        f"{figures['server_ms']:.1f} ms of the server's CPU per workflow, p50 "
        f"{figures['p50_ms']:.0f} ms from start to result.",
        "",
        "| part of the work (inclusive: with what it calls) | share of the samples |",
        "|---|---:|",
        *(f"| {part} | {samples.share(part):.1%} |" for part in PARTS),
        "",
        "The functions with the most samples of their own:",
        "",
        "| function | share of the samples |",
        "|---|---:|",
        *own_rows(samples, 15),
        "",
        "The visibility records are what the Temporal UI lists; SQLite is modernc's pure-Go "
        "build, which the dev server drives through `database/sql`.",
    ]
    return "\n".join(lines) + "\n"


def own_rows(samples: Samples, count: int) -> Iterable[str]:
    for name, n in samples.own.most_common(count):
        yield f"| `{name}` | {n / max(1, samples.total):.1%} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument(
        "--report", type=Path, default=Path("benchmarks/results/temporal-profile.md")
    )
    args = parser.parse_args()
    if shutil.which("perf") is None:
        raise SystemExit("perf is not installed (Debian: apt install linux-perf)")
    python_speed()  # the speed reference, taken before this run starts anything
    samples, figures = profile(args.seconds)
    args.report.write_text(report(samples, figures, args.seconds))
    print(f"wrote {args.report}")


if __name__ == "__main__":
    main()

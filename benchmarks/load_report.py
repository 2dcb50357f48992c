"""The load benchmark's report: benchmarks/results/load.md (machine, versions, seed, the figures
of every step for both targets, where each of the seed design's targets stands) and load.png
(throughput and p50/p95/p99 against load). The figures are the run's own (benchmarks/run.py)."""

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from benchmarks.enrollment_workflow import ARRIVAL_SECONDS, START_SECONDS
from benchmarks.footprint import Footprint
from benchmarks.machine import machine
from benchmarks.progress import verdict

# The seed design's targets (ms at each step; seconds for the workflow and the event lag).
LATENCY_TARGETS = {"p50": 100, "p95": 200, "p99": 500}
WORKFLOW_TARGET_SECONDS = 5
LAG_TARGET_SECONDS = 10
CACHE_TARGET = 0.8


@dataclass
class Step:
    """One locust run: its CSV summary rows (one per request name, then `Aggregated`)."""

    target: str
    phase: str
    users: int
    seconds: int
    rows: list[dict[str, str]]
    failures: list[dict[str, str]] = field(default_factory=list)
    # CPU seconds per process label during the step, the seconds its threads waited for a CPU,
    # and the share of the machine's CPU the hypervisor took (benchmarks/cpu.py).
    cpu: dict[str, float] = field(default_factory=dict)
    waited: dict[str, float] = field(default_factory=dict)
    threads_waiting: float = 0.0  # on average over the step
    steal: float = 0.0

    def figure(self, column: str, name: str = "Aggregated") -> float:
        row = next((r for r in self.rows if r["Name"] == name), None)
        try:
            return float(row[column]) if row else math.nan
        except ValueError:  # locust writes N/A when nothing was measured
            return math.nan

    def count(self, column: str) -> int:
        value = self.figure(column)
        return 0 if math.isnan(value) else int(value)

    @property
    def requests(self) -> int:
        return self.count("Request Count")

    @property
    def failed(self) -> int:
        return self.count("Failure Count")

    @property
    def rps(self) -> float:
        return self.figure("Requests/s")

    def latency(self, percentile: str) -> float:
        return self.figure(percentile.removeprefix("p") + "%")


@dataclass
class LoadResult:
    seeded: dict[str, int]
    seed_seconds: float
    steps: list[Step]
    workflow: list[float | None]
    lags: list[tuple]
    cache: Counter[tuple[str, str]]
    versions: dict[str, str]
    elapsed: float = 0.0
    footprint: Footprint | None = None

    def load_steps(self, target: str) -> list[Step]:
        return [s for s in self.steps if s.target == target and s.phase == "load"]


def header(result: LoadResult) -> list[str]:
    versions = ", ".join(f"{name} {v}" for name, v in result.versions.items())
    seeded = ", ".join(f"{count:,} {what}" for what, count in result.seeded.items())
    loads = [s for s in result.steps if s.target == "smartcourse"]
    return [
        "# Load benchmark: the realistic scenario, stepped",
        "",
        f"Machine: {machine()}.",
        f"Versions: {versions}.",
        f"Seed ({result.seed_seconds:.1f} s, through the storage layer): {seeded}.",
        "Scenario: benchmarks/locustfile.py (its users and their weights); steps of "
        + ", ".join(f"{s.users} users x {s.seconds} s ({s.phase})" for s in loads)
        + " per target, SmartCourse first, then the baseline on the same database.",
        f"**The whole run took {result.elapsed:.0f} s** (stack start, seed, both targets, "
        "probes, teardown).",
        "",
        "![throughput and latency against load](load.png)",
    ]


def steps_table(result: LoadResult) -> list[str]:
    lines = [
        "",
        "| target | users | requests | failures | req/s | p50 ms | p95 ms | p99 ms "
        "| p50<100 | p95<200 | p99<500 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for step in (s for s in result.steps if s.phase == "load"):
        marks = [
            "yes" if step.latency(p) < limit else "**no**" for p, limit in LATENCY_TARGETS.items()
        ]
        lines.append(
            f"| {step.target} | {step.users} | {step.requests} | {step.failed} "
            f"| {step.rps:.0f} | {step.latency('p50'):.0f} | {step.latency('p95'):.0f} "
            f"| {step.latency('p99'):.0f} | " + " | ".join(marks) + " |"
        )
    system, baseline = result.load_steps("smartcourse"), result.load_steps("baseline")
    ratios = ", ".join(
        f"{s.users} users {s.rps / b.rps:.2f}x"
        for s, b in zip(system, baseline, strict=False)
        if b.rps
    )
    return [*lines, "", f"Throughput SmartCourse / baseline: {ratios}."]


def users(counts: list[int]) -> str:
    return ", ".join(map(str, counts)) + " users" if counts else "no step"


def latency_verdicts(result: LoadResult) -> list[str]:
    lines = []
    for percentile, limit in LATENCY_TARGETS.items():
        steps = result.load_steps("smartcourse")
        met = [s.users for s in steps if s.latency(percentile) < limit]
        missed = [s.users for s in steps if s.latency(percentile) >= limit]
        lines.append(
            f"- {percentile.upper()} < {limit} ms at each step: {verdict(not missed)}"
            f" (met at {users(met)}; not met at {users(missed)})."
        )
    return lines


def workflow_verdict(times: list[float | None]) -> str:
    done = sorted(t for t in times if t is not None)
    what = (
        f"- Enrollment workflow < {WORKFLOW_TARGET_SECONDS} s (POST /enrollments until GET "
        f"/enrollments/{{id}} reads `active`; {len(times)} students arriving one every "
        f"{ARRIVAL_SECONDS:.0f} s from {START_SECONDS:.0f} s into the busiest SmartCourse step)"
    )
    if not times:
        return f"{what}: not measured."
    if len(done) < len(times):
        return f"{what}: {len(times) - len(done)} did not get there in 30 s (NOT met)."
    over = sum(1 for t in done if t >= WORKFLOW_TARGET_SECONDS)
    return (
        f"{what}: p50 {statistics.median(done):.2f} s, max {done[-1]:.2f} s, {over} of "
        f"{len(done)} at {WORKFLOW_TARGET_SECONDS} s or more ({verdict(not over)})."
    )


def lag_verdict(lags: list[tuple]) -> list[str]:
    if not lags:
        return [f"- Event lag < {LAG_TARGET_SECONDS} s: no event was consumed (NOT met)."]
    worst = max(p99 for *_, p99 in lags)
    lines = [
        f"- Event lag < {LAG_TARGET_SECONDS} s (outbox commit of `enrollment.created` to each "
        "consumer group's effect, students enrolling in a fresh course after the load): worst p99 "
        f"{worst:.2f} s ({verdict(worst < LAG_TARGET_SECONDS)})."
    ]
    lines += [
        f"  - {group}: {n} events, p50 {p50:.2f} s, p99 {p99:.2f} s" for group, n, p50, p99 in lags
    ]
    return lines


def cache_verdict(cache: Counter[tuple[str, str]]) -> list[str]:
    hits = sum(v for (_, result), v in cache.items() if result == "hit")
    total = sum(cache.values())
    if not total:
        return [
            f"- Cache hit rate > {CACHE_TARGET:.0%}: could not be read (Ray exported no "
            "`smartcourse_cache_requests` samples), so it is not claimed."
        ]
    lines = [
        f"- Cache hit rate > {CACHE_TARGET:.0%} (Ray's `smartcourse_cache_requests` counter, "
        f"difference over the SmartCourse run): {hits / total:.1%} of {total:,.0f} lookups "
        f"({verdict(hits / total > CACHE_TARGET)})."
    ]
    for cache_name in sorted({name for name, _ in cache}):
        hit, miss = cache[(cache_name, "hit")], cache[(cache_name, "miss")]
        lines.append(f"  - {cache_name}: {hit:,.0f} hits, {miss:,.0f} misses")
    return lines


def endpoints_table(step: Step) -> list[str]:
    lines = [
        "",
        f"Per request, {step.target} at {step.users} users:",
        "",
        "| request | count | failures | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for row in step.rows:
        if row["Name"] != "Aggregated":
            lines.append(
                f"| {row['Type']} {row['Name']} | {row['Request Count']} | {row['Failure Count']} "
                f"| {row['50%']} | {row['95%']} | {row['99%']} |"
            )
    return lines


def failures_section(result: LoadResult) -> list[str]:
    rows = [(s, f) for s in result.steps for f in s.failures]
    if not rows:
        return ["", "No request failed."]
    lines = ["", "Failures (all steps):", "", "| target | users | request | error | count |"]
    lines.append("|---|---|---|---|---|")
    lines += [
        f"| {s.target} | {s.users} | {f['Method']} {f['Name']} "
        f"| {f['Error'][:120].replace('|', '/')} | {f['Occurrences']} |"
        for s, f in rows
    ]
    return lines


NOTES = """
How to read it:
- Locust runs on the same 2 cores as the systems under test (niced to 19), with short think
  times so that 8-64 users load the machine; the latencies include its own waiting. Compare the
  two targets within this run rather than across runs.
- The SmartCourse stack stays up (relay, consumers, workers) while the baseline is measured,
  and relays the baseline's outbox events too, so both runs share the machine the same way.
- The baseline (benchmarks/baseline) answers the same routes with the same shapes in plain SQL,
  one transaction per write, but has no cache, no rate limit, no workflows (an enrollment is
  active at once, a publish is one UPDATE) and no certificates.
- The enrollment workflow is timed by polling (every 50 ms, or every tenth of the time so far
  once that is longer), so a time is late by up to 50 ms or 10 %; the cache counts every
  course and catalog lookup of the SmartCourse steps, warm-up included; a publish drops its
  category's and the all-categories catalog pages.
- Visitors send `X-Forwarded-For` with an address of their own and the benchmark's stack trusts
  it, as behind a load balancer; without it every anonymous request would share one per-address
  limit of 100 per minute.
"""


def cpu_table(result: LoadResult) -> list[str]:
    """CPU ms per request by process, for each target at its busiest step."""
    lines = []
    for target in ("smartcourse", "baseline"):
        steps = result.load_steps(target)
        if not steps or not steps[-1].cpu or not steps[-1].requests:
            continue
        step = steps[-1]
        per_request = {name: 1000 * s / step.requests for name, s in step.cpu.items()}
        waited = {name: 1000 * s / step.requests for name, s in step.waited.items()}
        total = sum(per_request.values())
        lines += [
            "",
            f"CPU per request, {target} at {step.users} users: **{total:.2f} ms** in all "
            "(the machine's processes, locust included; the hypervisor took "
            f"{step.steal:.1%} of the machine's CPU time in the step, as steal). Beside it, how "
            f"long the threads of each were runnable but waiting for a CPU: "
            f"{sum(waited.values()):.2f} ms per request in all, {step.threads_waiting:.1f} threads "
            "waiting on average (locust, which ends with the step, is not counted):",
            "",
            "| process | CPU ms per request | waited for a CPU, ms per request |",
            "|---|---|---|",
            *(
                f"| {name} | {ms:.2f} | " + (f"{waited[name]:.2f} |" if name in waited else " |")
                for name, ms in sorted(per_request.items(), key=lambda item: -item[1])
            ),
        ]
    return lines


def footprint_section(result: LoadResult) -> list[str]:
    if result.footprint is None:
        return []
    intro = "Footprint of the stack, measured before the seed and the load:"
    return ["", intro, "", *result.footprint.lines()]


def markdown(result: LoadResult) -> str:
    lines = header(result) + steps_table(result) + cpu_table(result) + footprint_section(result)
    lines += ["", "Targets (seed design) for SmartCourse on this machine:"]
    lines += latency_verdicts(result)
    lines.append(workflow_verdict(result.workflow))
    lines += lag_verdict(result.lags)
    lines += cache_verdict(result.cache)
    for target in ("smartcourse", "baseline"):
        steps = result.load_steps(target)
        if steps:
            lines += endpoints_table(steps[-1])
    lines += failures_section(result)
    return "\n".join(lines) + "\n" + NOTES


def chart(result: LoadResult, path: Path) -> None:
    figure = Figure(figsize=(11, 4.2))
    throughput, latency = figure.subplots(1, 2)
    for target, style in (("smartcourse", "-"), ("baseline", "--")):
        steps = result.load_steps(target)
        users = [s.users for s in steps]
        throughput.plot(users, [s.rps for s in steps], style, marker="o", label=target)
        for percentile, color in zip(LATENCY_TARGETS, ("C0", "C1", "C3"), strict=True):
            values = [s.latency(percentile) for s in steps]
            latency.plot(
                users, values, style, marker="o", color=color, label=f"{target} {percentile}"
            )
    for limit, color in zip(LATENCY_TARGETS.values(), ("C0", "C1", "C3"), strict=True):
        latency.axhline(limit, color=color, linestyle=":", linewidth=1)
    for axes in (throughput, latency):
        axes.set_xscale("log", base=2)
        axes.set_xticks([s.users for s in result.load_steps("smartcourse")])
        axes.get_xaxis().set_major_formatter("{x:.0f}")
        axes.set_xlabel("locust users")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    throughput.set(ylabel="requests/s", title="Throughput", ylim=(0, None))
    latency.set(ylabel="ms", title="Latency (dotted: the targets)", yscale="log")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def write_report(result: LoadResult, directory: Path) -> str:
    directory.mkdir(exist_ok=True)
    text = markdown(result)
    (directory / "load.md").write_text(text)
    chart(result, directory / "load.png")
    return text

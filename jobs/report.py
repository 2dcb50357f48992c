"""What a job produces and how it is written: `NAME.parquet` (every row), `NAME.md` (a
summary with the top rows) and `NAME.png` (a matplotlib chart, Agg backend)."""

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
from matplotlib.figure import Figure


@dataclass(frozen=True)
class JobResult:
    """A job's answer: the full table, what the summary shows, and how to draw the chart."""

    name: str
    title: str
    description: str
    table: pd.DataFrame
    # Draws the chart's panels on the figure (write_report adds the data's date range).
    chart: Callable[[Figure], None]
    # The summary's table; the full table when None.
    summary: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    # The dates the data covers, e.g. "enrollments 2025-01-01 to 2025-03-31 (UTC)".
    period: str = ""


def period_text(first: datetime | None, last: datetime | None) -> str:
    """The enrollments' date range as words, for every chart and summary."""
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return "no enrollments"
    return f"enrollments {first:%Y-%m-%d} to {last:%Y-%m-%d} (UTC)"


def wrapped(text: str, width: int = 28) -> str:
    """A label broken into lines of about `width` characters, so long titles stay readable."""
    return "\n".join(textwrap.wrap(text, width)) or text


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table (floats to 2 decimals, missing values empty)."""

    def cell(value: object) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if isinstance(value, float):
            return f"{value:.2f}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def write_report(result: JobResult, out_dir: Path, top: int = 20) -> Path:
    """Write the three files into `out_dir` (created if missing); returns the parquet path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    parquet = out_dir / f"{result.name}.parquet"
    result.table.to_parquet(parquet, index=False)

    figure = Figure(figsize=(12, 7.5))
    result.chart(figure)
    generated = f"generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    caption = f"Data: {result.period or 'date range unknown'}; {generated}"
    figure.text(0.01, 0.01, caption, fontsize="small", color="dimgray")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(out_dir / f"{result.name}.png", dpi=100)

    summary = result.table if result.summary is None else result.summary
    shown = summary.head(top)
    lines = [
        f"# {result.title}",
        "",
        result.description,
        "",
        f"Data: {result.period or 'date range unknown'}. "
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {len(result.table)} rows in "
        f"`{parquet.name}`; showing {len(shown)} of {len(summary)} summary rows.",
        "",
        markdown_table(shown),
        "",
        *(f"- {note}" for note in result.notes),
        "",
        f"![{result.title}]({result.name}.png)",
        "",
    ]
    (out_dir / f"{result.name}.md").write_text("\n".join(lines))
    return parquet

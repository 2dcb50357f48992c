"""What a job produces and how it is written: `NAME.parquet` (every row), `NAME.md` (a
summary with the top rows) and `NAME.png` (a matplotlib chart, Agg backend)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure


@dataclass(frozen=True)
class JobResult:
    """A job's answer: the full table, what the summary shows, and how to draw the chart."""

    name: str
    title: str
    description: str
    table: pd.DataFrame
    chart: Callable[[Axes], None]
    # The summary's table; the full table when None.
    summary: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


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

    figure = Figure(figsize=(10, 6))
    result.chart(figure.subplots())
    figure.tight_layout()
    figure.savefig(out_dir / f"{result.name}.png", dpi=100)

    summary = result.table if result.summary is None else result.summary
    shown = summary.head(top)
    lines = [
        f"# {result.title}",
        "",
        result.description,
        "",
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

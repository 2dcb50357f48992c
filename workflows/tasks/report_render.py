"""A course report's files: the CSV of its figures and daily series, and a one-page PDF with
the figures and a chart of the series (matplotlib, no display needed)."""

import csv
import io
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
# The backend is chosen before pyplot is imported: no display on workers.
import matplotlib.pyplot as plt

SERIES = ("new_enrollments", "completions", "drops", "lessons_completed", "active_learners")


@dataclass(frozen=True)
class ReportContent:
    title: str
    figures: dict[str, Any]
    daily: list[dict[str, Any]]


def render_csv(content: ReportContent) -> bytes:
    """Two blocks: `figure,value` rows, a blank line, then one row per day."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["figure", "value"])
    for name, value in content.figures.items():
        writer.writerow([name, "" if value is None else value])
    writer.writerow([])
    writer.writerow(["day", *SERIES])
    for row in content.daily:
        writer.writerow([row["day"], *(row[name] for name in SERIES)])
    return out.getvalue().encode()


def render_pdf(content: ReportContent) -> bytes:
    figure, (text_axes, chart) = plt.subplots(
        2, 1, figsize=(8.27, 11.69), gridspec_kw={"height_ratios": [1, 2]}
    )
    try:
        figure.suptitle(f"Course report: {content.title}", fontsize=14)
        text_axes.axis("off")
        lines = [f"{name}: {'-' if v is None else v}" for name, v in content.figures.items()]
        text_axes.text(0.0, 1.0, "\n".join(lines), va="top", family="monospace", fontsize=10)
        days = [row["day"] for row in content.daily]
        for name in ("new_enrollments", "completions", "drops"):
            chart.plot(days, [row[name] for row in content.daily], marker="o", label=name)
        chart.set_title("Per day")
        chart.set_xlabel("day")
        chart.legend()
        chart.tick_params(axis="x", labelrotation=45)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="pdf")
        return out.getvalue()
    finally:
        plt.close(figure)

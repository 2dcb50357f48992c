"""Each long-lived process loads only the libraries its own work needs: the renderers (fpdf,
matplotlib), the PDF parser (pypdf) and Alembic cost 10-30 MB apiece in every process that
imports them, and only the Celery worker, the materials replica and `smartcourse up` use them."""

import subprocess
import sys

import pytest

HEAVY = ("fpdf", "matplotlib", "pypdf", "alembic")


def loaded(module: str) -> set[str]:
    """Which of HEAVY a fresh interpreter holds after importing `module`."""
    probe = (
        f"import sys, {module}; "
        f"print(' '.join(name for name in {HEAVY!r} if sys.modules.get(name) is not None))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "module",
    [
        "gateway.main",  # the ingress replica
        "actors.shard",
        "actors.events",
        "actors.worker_host",
    ],
)
def test_a_long_lived_process_loads_no_renderer_parser_or_migration_tool(module: str) -> None:
    assert loaded(module) == set()


def test_the_celery_worker_loads_the_renderers_it_runs() -> None:
    assert {"fpdf", "matplotlib"} <= loaded("workflows.tasks.reports, workflows.tasks.certificates")

"""The shape STYLE.md and issue 19 ask of the application code: no module over 400 lines and
no function over 40 (migrations aside, which are written once and never read for the rules)."""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "storage", "actors", "serve", "workflows", "gateway", "jobs")
EXCLUDED = (ROOT / "storage" / "migrations",)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40


def modules() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not any(path.is_relative_to(excluded) for excluded in EXCLUDED):
                yield path


def long_functions(path: Path) -> Iterator[str]:
    """`module:line name (n lines)` for each function of `path` over the limit, from its
    `def` line (decorators aside) to its last line."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                where = path.relative_to(ROOT)
                yield f"{where}:{node.lineno} {node.name} ({lines} lines)"


def test_the_walk_sees_the_application_packages() -> None:
    found = {path.relative_to(ROOT).parts[0] for path in modules()}
    assert found == set(PACKAGES)
    assert not any("migrations" in path.parts for path in modules())


def test_no_module_is_over_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for path in modules()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_is_over_40_lines() -> None:
    long = [entry for path in modules() for entry in long_functions(path)]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"

"""The console keeps what a person needs: a library's own console handler is replaced by ours."""

import logging

import pytest

from core.logs import ConsoleFilter, adopt


def test_an_adopted_library_logger_goes_through_the_root_handlers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    library = logging.getLogger("somelib.part")
    own = logging.StreamHandler()
    library.addHandler(own)
    library.propagate = False
    adopt("somelib.part")
    with caplog.at_level(logging.INFO):
        library.info("routine")
    assert own not in library.handlers and library.propagate
    assert [r.getMessage() for r in caplog.records] == ["routine"]


def test_the_console_drops_library_info_and_keeps_warnings_and_our_own_lines() -> None:
    def record(name: str, level: int) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, "m", None, None)

    console = ConsoleFilter()
    assert not console.filter(record("ray.serve", logging.INFO))
    assert console.filter(record("ray.serve", logging.WARNING))
    assert console.filter(record("serve.processes", logging.INFO))
    marked = record("serve.processes", logging.INFO)
    marked.file_only = True
    assert not console.filter(marked)
    marked.levelno = logging.WARNING
    assert console.filter(marked)

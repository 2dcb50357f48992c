"""Structured key=value logging with the request id of the current request on every line."""

import logging
import sys
from contextvars import ContextVar
from pathlib import Path

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


# Our own loggers: their INFO lines are progress a person follows; a library's INFO (group
# joins, SMTP sessions) is routine and goes only to the log file.
OWN_LOGGERS = ("smartcourse", "serve", "core", "storage", "actors", "workflows", "gateway", "jobs")
FORMAT = "ts=%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s %(message)s"


# `log.info(..., extra=FILE_ONLY)`: a line for the log file only, as the console's progress
# lines already say it (a local server started or stopped, the database created).
FILE_ONLY = {"file_only": True}


class ConsoleFilter(logging.Filter):
    """Warnings and errors of everyone, and the INFO lines of our own loggers except those
    marked FILE_ONLY."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return record.name.split(".")[0] in OWN_LOGGERS and not getattr(record, "file_only", False)


def configure_logging(level: str = "INFO", log_file: Path | None = None) -> None:
    """Install the key=value format once per process (idempotent). With `log_file`, every line
    goes to that file and the console keeps only what a person needs (`ConsoleFilter`)."""
    root = logging.getLogger()
    if any(isinstance(f, RequestIdFilter) for h in root.handlers for f in h.filters):
        return
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        everything = logging.FileHandler(log_file)
        everything.addFilter(RequestIdFilter())
        everything.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(everything)
    # The process's own stderr: Serve's throughput-optimized replicas swap `sys.stderr` for a
    # logger that buffers up to 1,000 lines, so our lines would reach the files late or never.
    handler = logging.StreamHandler(sys.__stderr__)
    handler.addFilter(RequestIdFilter())
    if log_file is not None:
        handler.addFilter(ConsoleFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)


def adopt(*names: str) -> None:
    """Send the named loggers, which a library gave console handlers of its own (Ray's `ray`
    and `ray.serve`), through ours instead: every line to the log file, and to the console
    only what `ConsoleFilter` keeps."""
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True

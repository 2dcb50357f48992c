"""Structured key=value logging with the request id of the current request on every line."""

import logging
import sys
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """Install the key=value format once per process (idempotent)."""
    root = logging.getLogger()
    if any(isinstance(f, RequestIdFilter) for h in root.handlers for f in h.filters):
        return
    # The process's own stderr: Serve's throughput-optimized replicas swap `sys.stderr` for a
    # logger that buffers up to 1,000 lines, so our lines would reach the files late or never.
    handler = logging.StreamHandler(sys.__stderr__)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter(
            "ts=%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s "
            "%(message)s"
        )
    )
    root.addHandler(handler)
    root.setLevel(level)

"""What the worker processes of the stack's Ray job run before their first task (Ray's
`worker_process_setup_hook`, set by serve/runtime.py start_ray)."""

import os
import sys

# Set on Serve's controller (serve/runtime.py deploy), whose proxies and replicas inherit it.
SERVE_PROCESS = "SMARTCOURSE_SERVE_PROCESS"


def leave_out_unused_libraries() -> None:
    """In Serve's processes, make `import pandas` fail as if it were not installed. Serve
    imports pandas when it can (ray.serve._private.utils) only to JSON-encode the DataFrames a
    deployment returns, and ours return none; pandas and the pyarrow parts it loads cost about
    30 MB in each of the controller, the proxy, the HAProxy manager and every replica. Other
    workers of the job keep it: a Ray Data job run from the stack's driver needs it."""
    if os.environ.get(SERVE_PROCESS):
        sys.modules.setdefault("pandas", None)

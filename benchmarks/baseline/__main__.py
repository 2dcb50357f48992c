"""`python -m benchmarks.baseline PORT`: the baseline on one uvicorn worker."""

import os
import sys

import uvicorn

from benchmarks.baseline import app

os.environ.setdefault("PYTHONUNBUFFERED", "1")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)

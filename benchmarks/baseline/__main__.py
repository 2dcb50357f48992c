"""`python -m benchmarks.baseline FD`: the baseline on one uvicorn worker, serving on the
listening socket the parent bound and passed down (so no other process can take its port
between choosing and binding it)."""

import os
import sys

import uvicorn

from benchmarks.baseline import app

os.environ.setdefault("PYTHONUNBUFFERED", "1")
uvicorn.run(app, fd=int(sys.argv[1]), log_level="warning", access_log=False)

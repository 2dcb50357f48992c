"""The single HTTP ingress: FastAPI on Ray Serve. Verifies JWTs, rate-limits, validates, routes."""

import os
from pathlib import Path

# The ingress replicas of a node write their Prometheus samples to one directory (multiprocess
# mode, gateway/observability.py), which must exist on every node before the first sample.
if _samples := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(_samples).mkdir(parents=True, exist_ok=True)

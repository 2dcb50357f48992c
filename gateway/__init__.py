"""The single HTTP ingress: FastAPI on Ray Serve. Verifies JWTs, rate-limits, validates, routes."""

from storage.telemetry import make_samples_dir

# Before any module of the ingress makes its Prometheus metrics (storage/telemetry.py).
make_samples_dir()

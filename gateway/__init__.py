"""The single HTTP ingress: FastAPI on Ray Serve. Verifies JWTs, rate-limits, validates, routes."""

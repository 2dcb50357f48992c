"""The HAProxy config rewrite (serve/haproxy.py) on a config in the shape Ray writes."""

import json

from serve.haproxy import Hardening, error_response, harden

RAY_CONFIG = """global
    log stderr format raw local0 info
    stats socket /srv/x/admin.sock mode 666 level admin expose-fd listeners
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 3600s
    errorfile 502 /srv/x/500.http
frontend prometheus
    bind :9101
frontend http_frontend
    bind 127.0.0.1:8000
listen stats
  bind *:8404
"""
HARDENING = Hardening("127.0.0.1", 10, 60, 120, 30, 2000, "operator", "/srv/x/errors", "notice")


def test_socket_is_private_and_side_ports_bind_loopback() -> None:
    config = harden(RAY_CONFIG, HARDENING)
    assert "mode 600 level operator" in config and "mode 666" not in config
    assert "bind 127.0.0.1:9101" in config and "bind 127.0.0.1:8404" in config
    assert "bind :" not in config and "bind *" not in config
    assert "maxconn 2000" in config


def test_timeouts_forwardfor_and_errorfiles_come_from_settings() -> None:
    config = harden(RAY_CONFIG, HARDENING)
    assert "timeout http-request 10s" in config and "timeout client 60s" in config
    assert "timeout client 3600s" not in config and "timeout http-keep-alive 30s" in config
    assert "option forwardfor" in config
    assert "errorfile 502 /srv/x/errors/502.http" in config and "/srv/x/500.http" not in config
    assert "http-response del-header server" in config


def test_haproxy_logs_events_not_every_request() -> None:
    # Ray's HAProxy logs to a file of its own that nothing rotates: a line per request at
    # `info`. The replicas keep the access log.
    config = harden(RAY_CONFIG, HARDENING)
    assert "log stderr format raw local0 notice" in config and "local0 info" not in config


def test_error_files_are_the_envelope() -> None:
    head, _, body = error_response(504).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503") and b"Retry-After: 5" in head
    assert json.loads(body)["error"]["code"] == "dependency_unavailable"

"""Hardening of the HAProxy config that Ray Serve writes, applied by a wrapper around the binary.

Ray renders HAProxy's config from a fixed template: the admin socket is `mode 666 level admin`,
the stats and metrics ports bind every interface, there is no `timeout http-request`, no
`option forwardfor`, and HAProxy's own errors are HTML. Few of those are settings, so
`RAY_SERVE_HAPROXY_BINARY_PATH` points at a small script (written by `install_wrapper`) that
rewrites each config Ray passes with `-f` into a copy beside it and then execs the real
binary. Ray's own file stays as Ray wrote it, so its change detection is unaffected.

This module is imported by that script on every HAProxy (re)load: standard library only.
"""

import ctypes
import json
import os
import re
import signal
import stat
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

REASONS = {
    400: ("Bad Request", "bad_request", "The request is malformed"),
    403: ("Forbidden", "forbidden", "The request was refused"),
    408: ("Request Timeout", "request_timeout", "The request took too long to arrive"),
    413: ("Payload Too Large", "payload_too_large", "The request is too large"),
    429: ("Too Many Requests", "rate_limited", "Too many requests; slow down"),
    500: ("Internal Server Error", "internal_error", "Internal error"),
    502: ("Service Unavailable", "dependency_unavailable", "The service is unavailable"),
    503: ("Service Unavailable", "dependency_unavailable", "The service is unavailable"),
    504: ("Service Unavailable", "dependency_unavailable", "The service did not answer in time"),
}


# The timeouts set from settings; Ray's own values for them are dropped.
TIMEOUT_LINES = r"(?m)^\s*timeout (client|server|http-request|http-keep-alive) .*\n"


@dataclass(frozen=True)
class Hardening:
    """What the wrapper changes; written as JSON into the wrapper, read back on each load."""

    bind_host: str
    timeout_http_request_s: int
    timeout_client_s: int
    timeout_server_s: int
    timeout_keep_alive_s: int
    maxconn: int
    socket_level: str
    errors_dir: str
    log_level: str


def error_response(status: int) -> bytes:
    """A raw HTTP response in the API's error envelope, for HAProxy's `errorfile`."""
    reason, code, message = REASONS[status]
    body = json.dumps({"error": {"code": code, "message": message, "details": None}}).encode()
    # 502 and 504 are reported as 503: for a client the dependency is unavailable.
    shown = 503 if status in (502, 504) else status
    head = [
        f"HTTP/1.1 {shown} {reason}",
        "Content-Type: application/json",
        "Cache-Control: no-store",
        "X-Content-Type-Options: nosniff",
        "Connection: close",
        f"Content-Length: {len(body)}",
    ]
    if shown in (429, 503):
        head.append("Retry-After: 5")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def write_error_files(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for status in REASONS:
        (directory / f"{status}.http").write_bytes(error_response(status))


def harden(config: str, h: Hardening) -> str:
    """The config with the socket private, side ports on `bind_host`, timeouts, the
    connection cap and the log level from settings, `X-Forwarded-For` added, no `Server`
    banner, and every error HAProxy answers itself in the envelope."""
    config = re.sub(
        r"(stats socket \S+) mode \d+ level \w+", rf"\1 mode 600 level {h.socket_level}", config
    )
    config = re.sub(r"(?m)^(\s*)maxconn \d+$", rf"\g<1>maxconn {h.maxconn}", config)
    config = re.sub(r"(?m)^(\s*log \S.* local0) \w+$", rf"\1 {h.log_level}", config)
    config = re.sub(r"(?m)^(\s*)bind \*?:(\d+)$", rf"\g<1>bind {h.bind_host}:\2", config)
    config = re.sub(
        r"(?m)^\s*timeout (client|server|http-request|http-keep-alive) .*\n", "", config
    )
    config = re.sub(r"(?m)^\s*errorfile \d+ .*\n", "", config)
    errors = "".join(f"    errorfile {status} {h.errors_dir}/{status}.http\n" for status in REASONS)
    defaults = (
        "defaults\n"
        f"    timeout http-request {h.timeout_http_request_s}s\n"
        f"    timeout client {h.timeout_client_s}s\n"
        f"    timeout server {h.timeout_server_s}s\n"
        f"    timeout http-keep-alive {h.timeout_keep_alive_s}s\n"
        "    option forwardfor\n" + errors
    )
    config = config.replace("defaults\n", defaults, 1)
    frontend = "frontend http_frontend\n    http-response del-header server\n"
    return config.replace("frontend http_frontend\n", frontend, 1)


WRAPPER_IMPORT = "from serve.haproxy import main\n"


def install_wrapper(directory: Path, real_binary: str, hardening: Hardening) -> Path:
    """Write the error files and the wrapper script into `directory`; answer the script."""
    write_error_files(Path(hardening.errors_dir))
    script = directory / "haproxy"
    root = Path(__file__).resolve().parent.parent
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        f"{WRAPPER_IMPORT}"
        f"main({real_binary!r}, {json.dumps(asdict(hardening))!r}, sys.argv[1:])\n"
    )
    script.chmod(stat.S_IRWXU)
    return script


def is_wrapper(path: Path) -> bool:
    """Whether `path` is a script `install_wrapper` wrote (its head is enough: a real binary
    is megabytes)."""
    try:
        with path.open("rb") as file:
            return WRAPPER_IMPORT.encode() in file.read(4096)
    except OSError:
        return False


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """Kill this process, and the HAProxy it becomes (the setting survives exec), when the
    process that started it dies. That is Serve's HAProxyManager actor, which stops HAProxy
    itself only when it is shut down politely; a killed actor, or a Ray torn down under it,
    would leave an HAProxy holding the HTTP, stats and metrics ports for the next start."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() == 1:  # orphaned already: the parent died before the setting took hold
        sys.exit(1)


def main(real_binary: str, hardening_json: str, args: list[str]) -> None:
    """The wrapper's body: harden the `-f` config into a copy, tie its life to its parent's,
    then become the real HAProxy."""
    if sys.platform == "linux":
        die_with_parent()
    if "-f" in args:
        at = args.index("-f") + 1
        source = Path(args[at])
        hardened = source.with_name(source.name + ".hardened")
        hardening = Hardening(**json.loads(hardening_json))
        hardened.write_text(harden(source.read_text(), hardening))
        args = [*args[:at], str(hardened), *args[at + 1 :]]
    os.execv(real_binary, [real_binary, *args])  # noqa: S606 (our own binary, fixed arguments)

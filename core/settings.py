"""The one settings object: every address, secret, limit and timeout, read from SMARTCOURSE_*
env vars.

Local defaults point at this machine; production overrides them through the environment
(docker-compose, the Ray cluster config, KubeRay). Secrets have no default: the local stack
writes a random one into `.smartcourse/.env`, which is git-ignored.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(".smartcourse")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SMARTCOURSE_", env_file=DATA_DIR / ".env", extra="ignore"
    )

    environment: Literal["local", "test", "production"] = "local"
    data_dir: Path = DATA_DIR
    log_level: str = "INFO"

    # Servers this system talks to.
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/smartcourse"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    # A pooled connection is tested before use only after sitting idle this long (a round
    # trip, and a third of a short read's CPU); one in steady use is not (storage/db.py).
    db_ping_idle_seconds: float = Field(1.0, ge=0.0)
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis is on every request's path; a hung server must cost milliseconds, not seconds.
    redis_timeout_seconds: float = 0.5
    # Connections per process; a call past them waits for one (storage/keyvalue.py). An
    # ingress replica takes up to `serve_max_ongoing_requests` at once, each with a Redis call
    # in flight, and under overload a connection is busy for as long as its loop lags.
    redis_max_connections: int = Field(default=256, ge=1)
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = ""
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "smartcourse"
    temporal_ui_port: int = 8233
    # Prometheus endpoint (on `http_host`) of the Temporal worker's SDK metrics; 0: off, since a
    # fixed port would clash where several workers share a machine (tests).
    temporal_metrics_port: int = 0
    s3_endpoint_url: str = "http://127.0.0.1:9000"
    s3_bucket: str = "smartcourse"
    s3_region: str = "us-east-1"
    s3_access_key: str = "smartcourse"
    s3_secret_key: SecretStr = SecretStr("smartcourse-local")
    content_store: Literal["postgres", "mongo"] = "postgres"
    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_database: str = "smartcourse"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_sender: str = "SmartCourse <no-reply@smartcourse.local>"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # OTLP/HTTP traces endpoint (e.g. http://jaeger:4318/v1/traces); unset, nothing is traced.
    otlp_endpoint: str | None = None
    trace_sample_ratio: float = Field(1.0, ge=0.0, le=1.0)

    # HTTP ingress and Ray.
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    ray_address: str | None = None
    ray_dashboard_port: int = 8265
    ray_metrics_export_port: int = 8266
    # Logical CPUs of a local Ray (a scheduling budget, not cores). Replicas and actors mostly
    # wait on I/O, and batch jobs need room to be scheduled beside them; unset: 4 per core.
    ray_num_cpus: int | None = None
    serve_max_ongoing_requests: int = 200
    # The ingress scales with Serve autoscaling between these bounds, aiming at this many
    # requests in flight per replica.
    gateway_min_replicas: int = 1
    gateway_max_replicas: int = 1
    gateway_target_ongoing_requests: float = 64.0
    # Replicas wait on I/O; a fraction of a CPU each lets every deployment fit on 2 cores.
    replica_cpus: float = 0.25
    # The most replicas of a deployment beside the ingress (materials uploads).
    service_replicas: int = 1
    haproxy: bool = True
    haproxy_stats_port: int = 8404
    haproxy_metrics_port: int = 9101
    # Serve's fallback proxy, the backup server HAProxy sends requests to while no replica is
    # up, listens on these (Ray's defaults, the same for every stack on a host otherwise).
    serve_fallback_http_port: int = 8500
    serve_fallback_grpc_port: int = 9500
    # Side ports (HAProxy stats and metrics, the Ray dashboard) and a local Ray's own ports
    # (GCS, raylet, workers, agent, metrics) listen here: loopback locally; a cluster node that
    # is scraped from elsewhere sets its own address.
    bind_host: str = "127.0.0.1"
    # A client must send its headers within this time and stay active within the client
    # timeout; an idle keep-alive connection is closed after the keep-alive timeout.
    haproxy_timeout_http_request_seconds: int = 10
    haproxy_timeout_client_seconds: int = 60
    haproxy_timeout_server_seconds: int = 120
    haproxy_timeout_keep_alive_seconds: int = 30
    haproxy_maxconn: int = 2000
    # HAProxy's own log: Ray sends it to a file under the temp folder that nothing rotates, and
    # at `info` that is a line per request (3.5 GB a day at 200 requests/s). The access log
    # is the replicas' (Serve's, rotated, shown by the dashboard); `info` adds HAProxy's.
    haproxy_log_level: Literal["emerg", "alert", "crit", "err", "warning", "notice", "info"] = (
        "notice"
    )
    # Ray's HAProxy manager only reads stats through the admin socket.
    haproxy_socket_level: Literal["user", "operator", "admin"] = "operator"
    # Token auth guards the dashboard, its job API (which runs code) and Ray's gRPC ports. The
    # token is `ray_auth_token` when given, else one generated on first use; either way it is
    # kept in `<data_dir>/ray_auth_token` (0600), where Ray's processes read it.
    ray_auth_mode: Literal["disabled", "token"] = "token"
    ray_auth_token: SecretStr | None = None

    # Identity.
    jwt_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256"] = "HS256"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    bcrypt_rounds: int = 12
    # Failed logins (storage/login_throttle.py): an (account, address) pair gets a few free
    # failures, then a doubling backoff capped at a minute; an address has a budget of
    # failures per minute across accounts; an account only raises an alarm, never locks.
    login_free_failures: int = 3
    login_backoff_max_seconds: float = 60.0
    login_failures_per_ip: int = 30
    login_ip_window_seconds: int = 60
    login_failures_per_account: int = 20
    login_failure_window_seconds: int = 15 * 60

    # Limits.
    rate_limit_per_minute: int = 100
    # X-Forwarded-For is believed only when the connection comes from one of these proxies
    # (addresses or networks), and then only its last entry, the one that proxy appended.
    # The default is the local HAProxy; a KubeRay or compose deployment lists its ingress.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    # Load tests only: also believe the entry before the proxy's, so locust's simulated
    # visitors get addresses of their own. Spoofable by design; never set in production.
    trust_forwarded_for: bool = False
    request_body_max_bytes: int = 1024 * 1024
    # JSON nested deeper than this is refused (400) before it is parsed (API.md).
    json_max_depth: int = 32
    material_max_bytes: int = 50 * 1024 * 1024
    page_size_max: int = 100
    # The gradebook CSV reads a course in keyset pages of this many enrollments: memory stays
    # flat whatever the course's size.
    gradebook_page_rows: int = 1000

    # Cache TTLs (seed 6.2).
    catalog_cache_ttl_seconds: int = 5 * 60
    course_cache_ttl_seconds: int = 10 * 60
    progress_cache_ttl_seconds: int = 5 * 60
    user_cache_ttl_seconds: int = 15 * 60
    idempotency_ttl_seconds: int = 24 * 3600

    # Virtual actors. On a cluster, about one shard per core, the same on every node. On the
    # 2-core development machine, one: it did 0.99x the baseline's durable completions where 2
    # did 0.89x (make bench, consecutive runs; 4 did worse than 2), with 0.61 against 0.80 ms
    # of shard CPU per completion, and it holds 104 MB less (benchmarks/results/load-history.md).
    shard_count: int = 1
    # Each shard keeps its own small pool; group commit needs one connection at a time.
    shard_db_pool_size: int = 3
    entity_idle_seconds: float = 600.0
    shard_call_timeout_seconds: float = 10.0
    # Batches a replica may have on their way to one shard per kind of operation; what arrives
    # meanwhile waits for the next. With 2, a completion that arrives while a batch waits for
    # its group commit reaches the shard at once and rides in the next commit, instead of
    # waiting for the batch ahead to come back first. The load mix at 64 users, 90 s steps,
    # 1 and 2 alternating (4 runs): completions p95 76 / 88 ms with 1, 59 / 62 ms with 2, at
    # the same CPU per request (benchmarks/results/load-history.md).
    shard_calls_in_flight: int = Field(default=2, ge=1, le=16)
    # Attempts per quiz and enrollment: unlimited scored attempts would reveal the key.
    quiz_max_attempts: int = Field(default=3, ge=1, le=100)

    # Outbox and consumers.
    outbox_poll_seconds: float = 0.5
    outbox_batch_size: int = 500
    # After a batch that was not full the relay waits this long before the next one, so under
    # load it publishes few large batches rather than one small transaction per group commit.
    outbox_linger_seconds: float = 0.02
    outbox_retention_days: int = 30
    # Processed-event rows are kept at least as long as the outbox (a replay of a retained row
    # must still find it processed); the retention sweep deletes both in small batches.
    processed_event_retention_days: int = 30
    retention_interval_seconds: float = 300.0
    retention_batch_size: int = 500
    # How often the relay checks that the broker still holds its log (the epoch marker).
    outbox_epoch_check_seconds: float = 5.0
    # A down broker is retried at least this often, so the relay catches up soon after it is back.
    outbox_retry_max_seconds: float = 5.0
    # Readiness: a loop whose heartbeat is older than this is not running (storage/heartbeats.py);
    # an outbox row pending longer than the lag budget means the relay is stuck.
    heartbeat_ttl_seconds: float = 15.0
    outbox_lag_budget_seconds: float = 30.0
    # A loop that failed is named by readiness until it has worked again this long, and a shard
    # until it has been up this long.
    loop_settle_seconds: float = 2.0
    # The relay's and each consumer group's session is cancelled (and started again) after this
    # long without a round and without failing (actors/events/supervise.py): above the longest
    # round that still works, a broker request timing out (aiokafka's 40 s).
    loop_stall_seconds: float = 60.0
    # Readiness asks the shards and the events actor(s) directly; one that does not answer
    # within this (dead, restarting) is named.
    actor_probe_timeout_seconds: float = 1.0
    # Locally the relay and every consumer group share one events actor (one process, one event
    # loop); on a cluster each group may get an actor of its own.
    events_actor_per_group: bool = False
    # The pipelines behind the writes (the events actor, the Celery worker, the local broker
    # and S3) run at this nice level, so on a shared host the request path (HAProxy, the
    # gateway, the shards, PostgreSQL, Redis, Temporal) gets the CPU first; they have seconds
    # of slack (event lag < 10 s). 0 turns it off.
    background_niceness: int = Field(10, ge=0, le=19)
    consumer_max_attempts: int = 5
    # The Parquet event archive in the object store (storage/event_archive.py), for batch jobs
    # that replay history; off until the events actor writes it. A flush per this many events.
    event_archive_enabled: bool = False
    event_archive_prefix: str = "events"
    event_archive_batch_events: int = Field(5000, ge=1)
    event_archive_flush_seconds: float = 60.0
    consumer_backoff_initial_seconds: float = 1.0
    consumer_backoff_max_seconds: float = 60.0

    # Celery (seed 6.1: 3 attempts, 60 s / 300 s / 900 s).
    celery_retry_delays_seconds: list[int] = Field(default_factory=lambda: [60, 300, 900])
    # Prefixes every queue and exchange name, so test sessions sharing a broker never cross.
    celery_queue_prefix: str = ""
    celery_worker_concurrency: int = 2
    # Threads: the tasks wait on SMTP, S3 and Temporal, and one process costs a third of the
    # memory of prefork's parent and children (benchmarks/footprint.py); prefork for CPU-heavy
    # deployments.
    celery_pool: Literal["threads", "prefork", "solo"] = "threads"
    # Prometheus endpoint (on `http_host`) of the Celery worker's task outcomes; 0: off.
    celery_metrics_port: int = 0
    smtp_timeout_seconds: float = 10.0
    # SMS and push providers: `local` writes each message as a JSON file under
    # `data_dir/sms` and `data_dir/push` (as the SMTP sink keeps .eml files); `http` posts it
    # to the provider's URL with its bearer token.
    sms_provider: Literal["local", "http"] = "local"
    sms_provider_url: str | None = None
    sms_provider_token: SecretStr | None = None
    push_provider: Literal["local", "http"] = "local"
    push_provider_url: str | None = None
    push_provider_token: SecretStr | None = None
    provider_timeout_seconds: float = 10.0
    # Course reports: how long a download link stays valid.
    report_url_ttl_seconds: int = 3600
    # Public certificate verification: unknown codes per client IP and window before 429.
    certificate_verify_misses_per_ip: int = 20
    certificate_verify_window_seconds: int = 10 * 60
    # A Unicode TrueType font for names in any script; the PDF core fonts are the fallback.
    certificate_font_path: Path | None = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    reminder_inactive_days: int = 7

    dependency_timeout_seconds: float = 2.0
    # `smartcourse up` restarts a child that exited after this delay, doubled per quick exit up
    # to the cap; a child that ran longer than the cap starts over from the first delay.
    supervisor_backoff_initial_seconds: float = 0.5
    supervisor_backoff_max_seconds: float = 30.0
    # The Temporal worker host retries a lost connection at least this often.
    worker_retry_max_seconds: float = 5.0

    def metrics_samples_dir(self) -> Path:
        """Where the stack's processes on a node write their Prometheus samples (multiprocess
        mode, storage/telemetry.py): one directory per node, emptied at start."""
        return self.data_dir.resolve() / "metrics"

    def require_jwt_secret(self) -> str:
        """The signing secret, or a startup error that names the missing variable."""
        if self.jwt_secret is None or not self.jwt_secret.get_secret_value():
            raise RuntimeError(
                "SMARTCOURSE_JWT_SECRET is not set: export it, or run `smartcourse up`, "
                "which writes a random one into .smartcourse/.env"
            )
        return self.jwt_secret.get_secret_value()


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """Split `host:port` or a URL into its host and port."""
    parts = urlsplit(address if "://" in address else f"//{address}")
    return parts.hostname or "127.0.0.1", parts.port or default_port


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

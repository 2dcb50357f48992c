"""The Grafana boards stay in step with the code: every board loads, every panel queries the
provisioned Prometheus datasource, every metric a query names is one our code defines (under the
name Prometheus sees) or one of a scraped exporter's, and every route a query names is a gateway
route. A renamed metric or route breaks this test instead of silently emptying a panel."""

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
BOARDS = ROOT / "deploy/grafana/dashboards"
PROVISIONING = ROOT / "deploy/grafana/provisioning"
SOURCES = ("core", "storage", "actors", "workflows", "serve", "gateway", "jobs")
EXPECTED = {
    "api-overview",
    "business-metrics",
    "database-health",
    "kafka",
    "temporal-workflows",
    "infrastructure",
}
# Metrics of the servers and exporters deploy/prometheus.yml scrapes, by name prefix.
EXPORTER_PREFIXES = ("pg_", "redis_", "kafka_", "haproxy_", "temporal_", "ray_")
# The Temporal server's own metrics carry no prefix.
TEMPORAL_SERVER = {
    "service_requests",
    "service_errors",
    "service_latency_bucket",
    "persistence_latency_bucket",
    "workflow_success",
    "workflow_failed",
    "workflow_timeout",
    "workflow_terminate",
    "workflow_cancel",
}
PROMETHEUS = {"up"}
OURS = ("smartcourse_", "ray_smartcourse_")

DEFINITION = re.compile(r'\b(Counter|Gauge|Histogram)\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"')
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
SELECTOR = re.compile(r"\{[^}]*\}")
RANGE = re.compile(r"\[[^\]]*\]")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
KEYWORDS = {"and", "or", "unless", "bool", "offset"}
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')


def exposed_names(kind: str, name: str, ray: bool) -> set[str]:
    """The sample names Prometheus scrapes for one metric definition: ray.util.metrics ones come
    through Ray's metrics agent with a `ray_` prefix, counters always end in `_total`."""
    base = f"ray_{name}" if ray else name
    if kind == "Counter":
        return {base if base.endswith("_total") else f"{base}_total"}
    if kind == "Histogram":
        return {f"{base}_{suffix}" for suffix in ("bucket", "sum", "count")}
    return {base}


def defined_metrics() -> set[str]:
    names: set[str] = set()
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            ray = "ray.util.metrics" in text
            for kind, name in DEFINITION.findall(text):
                names |= exposed_names(kind, name, ray)
    return names


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers outside label matchers, ranges and
    grouping clauses that are not functions, keywords or parts of numbers."""
    bare = GROUPING.sub("", RANGE.sub("", SELECTOR.sub("", STRING.sub('""', expr))))
    names = set()
    for match in IDENTIFIER.finditer(bare):
        before = bare[match.start() - 1] if match.start() else " "
        after = bare[match.end() :].lstrip()
        if after.startswith("(") or match.group() in KEYWORDS or before.isdigit() or before == ".":
            continue
        names.add(match.group())
    return names


def boards() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(BOARDS.glob("*.json"))}


def targets() -> list[tuple[str, str, dict]]:
    return [
        (name, panel["title"], target)
        for name, board in boards().items()
        for panel in board["panels"]
        for target in panel["targets"]
    ]


def test_the_six_boards_are_there_with_unique_uids_and_titles() -> None:
    loaded = boards()
    assert set(loaded) == EXPECTED
    uids = [board["uid"] for board in loaded.values()]
    titles = [board["title"] for board in loaded.values()]
    assert len(set(uids)) == len(uids) and all(uids)
    assert len(set(titles)) == len(titles) and all(titles)


def test_every_panel_queries_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load((PROVISIONING / "datasources/prometheus.yml").read_text())
    (datasource,) = provisioned["datasources"]
    uid = datasource["uid"]
    for name, board in boards().items():
        assert board["panels"], name
        for panel in board["panels"]:
            where = f"{name}: {panel['title']}"
            assert panel["type"] in {"timeseries", "stat"}, where
            assert panel["targets"], f"{where} has no query"
            assert panel["datasource"]["uid"] == uid, where
            for target in panel["targets"]:
                assert target["expr"].strip(), where
                assert target["datasource"]["uid"] == uid, where


def test_grafana_loads_the_boards_from_where_compose_mounts_them() -> None:
    provider = yaml.safe_load((PROVISIONING / "dashboards/smartcourse.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    grafana = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in grafana["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]


def test_the_metric_parser_finds_names_and_only_names() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (route, le) (rate(a_bucket{route=~"/x.*"}[5m]))) '
        "/ on() (sum(b_total offset 1h) or vector(0)) > 1e3"
    )
    assert metric_names(expr) == {"a_bucket", "b_total"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_metric_a_board_names_exists(name: str) -> None:
    ours = defined_metrics()
    for board, title, target in targets():
        if board != name:
            continue
        for metric in metric_names(target["expr"]):
            where = f"{board}: {title}: {metric}"
            if metric.startswith(OURS):
                assert metric in ours, f"{where} is not defined by our code"
            else:
                assert (
                    metric.startswith(EXPORTER_PREFIXES)
                    or metric in TEMPORAL_SERVER
                    or metric in PROMETHEUS
                ), f"{where} comes from nothing Prometheus scrapes"


def test_the_boards_show_what_the_design_asks_for() -> None:
    shown = {metric for _, _, target in targets() for metric in metric_names(target["expr"])}
    wanted = {
        "smartcourse_http_requests_total",
        "smartcourse_http_request_duration_seconds_bucket",
        "ray_smartcourse_shard_mailbox_depth",
        "ray_smartcourse_group_commit_size_bucket",
        "ray_smartcourse_outbox_backlog",
        "ray_smartcourse_consumer_lag",
        "ray_smartcourse_cache_requests_total",
        "temporal_workflow_completed",
        "temporal_workflow_failed",
        "smartcourse_celery_tasks_total",
    }
    assert wanted <= shown, sorted(wanted - shown)


def test_every_route_a_board_names_is_a_gateway_route() -> None:
    from gateway.routes import analytics, auth, certificates, courses, enrollments, ops, users

    success = {
        (method, route.path): route.status_code or 200
        for module in (analytics, auth, certificates, courses, enrollments, ops, users)
        for route in module.router.routes
        for method in route.methods
    }
    for board, title, target in targets():
        for selector in SELECTOR.findall(target["expr"]):
            labels = {key: value for key, op, value in MATCHER.findall(selector) if op == "="}
            if "route" not in labels:
                continue
            key = (labels.get("method"), labels["route"])
            assert key in success, f"{board}: {title}: no gateway route {key}"
            status = labels.get("status", "")
            if status.startswith("2"):
                assert int(status) == success[key], f"{board}: {title}: {key} answers {status}"


def test_prometheus_scrapes_every_exporter_and_metrics_port() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
    scraped = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    hosts = {target.split(":")[0] for target in scraped}
    assert {"postgres-exporter", "redis-exporter", "kafka-exporter"} <= set(compose["services"])
    assert {"postgres-exporter", "redis-exporter", "kafka-exporter"} <= hosts
    env = compose["x-smartcourse-env"]
    assert f"celery-worker:{env['SMARTCOURSE_CELERY_METRICS_PORT']}" in scraped
    assert f"ray-head:{env['SMARTCOURSE_TEMPORAL_METRICS_PORT']}" in scraped

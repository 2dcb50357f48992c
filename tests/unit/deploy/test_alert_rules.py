"""The Prometheus alert rules are valid (`promtool check rules`, and the config that loads them
passes `promtool check config`), cover what issue 15 asks for, and name only metrics that our
code defines or a scraped exporter serves (the same check as the Grafana boards)."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.deploy.test_dashboards import (
    EXPORTER_PREFIXES,
    OURS,
    ROOT,
    defined_metrics,
    metric_names,
)

RULES = ROOT / "deploy/prometheus/alerts.yml"
CONFIG = ROOT / "deploy/prometheus.yml"
WANTED = {
    "SmartCourseDeadLetters",
    "SmartCourseConsumerLag",
    "SmartCourseOutboxBacklog",
    "SmartCourseOutboxOldestPending",
    "SmartCourseWorkflowsFailing",
    "SmartCourseCeleryTaskFailures",
    "SmartCourseLoopHeartbeatMissing",
    "SmartCoursePipelineNotReady",
}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: apt-get install -y prometheus (.ci/run does it)")
    return found


def rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_promtool_accepts_the_rules() -> None:
    checked = run(promtool(), "check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout


def test_prometheus_loads_the_rules_from_where_compose_mounts_them(tmp_path: Path) -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert config["rule_files"] == ["prometheus/alerts.yml"]
    assert (CONFIG.parent / config["rule_files"][0]).resolve() == RULES
    prometheus = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["prometheus"]
    mounted = {volume.split(":")[0]: volume.split(":")[1] for volume in prometheus["volumes"]}
    assert Path(mounted["./deploy/prometheus.yml"]).parent / config["rule_files"][0] == Path(
        mounted["./deploy/prometheus/alerts.yml"]
    )
    checked = run(promtool(), "check", "config", "--syntax-only", str(CONFIG))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rules_cover_what_readiness_names_and_every_failure() -> None:
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    assert set(names) == WANTED
    for rule in rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_every_metric_a_rule_names_exists() -> None:
    ours = defined_metrics()
    for rule in rules():
        for metric in metric_names(rule["expr"]):
            where = f"{rule['alert']}: {metric}"
            if metric.startswith(OURS):
                assert metric in ours, f"{where} is not defined by our code"
            else:
                assert metric.startswith(EXPORTER_PREFIXES), f"{where} comes from nothing scraped"

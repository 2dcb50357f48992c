"""Deployment files stay in step with the settings class: every SMARTCOURSE_* variable they set
is a real setting, so a renamed setting cannot silently stop being configured in production."""

from pathlib import Path

import yaml

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
PREFIX = "SMARTCOURSE_"


def setting_names() -> set[str]:
    return {PREFIX + name.upper() for name in Settings.model_fields}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_compose_variable_is_a_setting() -> None:
    env = compose()["x-smartcourse-env"]
    unknown = {key for key in env if key.startswith(PREFIX)} - setting_names()
    assert not unknown, f"compose sets variables that no setting reads: {sorted(unknown)}"


def test_compose_configures_every_server_address() -> None:
    env = compose()["x-smartcourse-env"]
    addresses = {
        "DATABASE_URL",
        "REDIS_URL",
        "RABBITMQ_URL",
        "KAFKA_BOOTSTRAP",
        "TEMPORAL_ADDRESS",
        "S3_ENDPOINT_URL",
        "MONGO_URL",
        "SMTP_HOST",
        "JWT_SECRET",
        "RAY_ADDRESS",
    }
    missing = {PREFIX + name for name in addresses} - set(env)
    assert not missing, f"compose leaves these at their local defaults: {sorted(missing)}"


def test_compose_keeps_secrets_out_of_the_file() -> None:
    env = compose()["x-smartcourse-env"]
    for key in ("SMARTCOURSE_JWT_SECRET", "SMARTCOURSE_S3_SECRET_KEY"):
        assert env[key].startswith("${"), f"{key} must come from the operator's environment"


def test_every_service_that_runs_smartcourse_shares_the_environment() -> None:
    services = compose()["services"]
    ours = [name for name, svc in services.items() if svc.get("image") == "smartcourse:latest"]
    assert {"migrate", "ray-head", "ray-worker", "celery-worker"} <= set(ours)
    shared = compose()["x-smartcourse-env"]
    for name in ours:
        assert services[name]["environment"] == shared, name


def test_rayservice_points_at_the_app_builder() -> None:
    manifest = yaml.safe_load((ROOT / "deploy/k8s/rayservice.yaml").read_text())
    serve_config = yaml.safe_load(manifest["spec"]["serveConfigV2"])
    assert serve_config["applications"][0]["import_path"] == "gateway.main:build_app"

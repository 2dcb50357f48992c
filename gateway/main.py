"""The gateway ingress deployment and the one function that builds the Serve application graph.

`serve run gateway.main:build_app` and `smartcourse up` both use `build_app`; no module of the
application imports this one (the CLI refers to it by import path, only tests import it), so
the layering of DESIGN.md holds.

The ingress runs the HTTP routes and the light services (auth, users, catalog, courses,
enrollment, progress, notifications, certificates, analytics) in its own process: a request
calls them as plain objects. Only material uploads, with another resource profile, sit behind a
handle (`MaterialsService`). Operators scale the ingress with Serve autoscaling.
"""

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application
from ray.serve.handle import DeploymentHandle

from actors.ensure import ensure_actors_elsewhere
from core.logs import configure_logging
from core.settings import Settings, get_settings
from gateway.bodies import JsonBodyMiddleware
from gateway.context import GatewayContext
from gateway.docs import install_docs
from gateway.errors import install_error_handlers
from gateway.headers import SecurityHeadersMiddleware
from gateway.limits import BodyLimitMiddleware
from gateway.observability import RequestContextMiddleware
from gateway.openapi import install_openapi
from gateway.routes import (
    analytics,
    auth,
    certificates,
    courses,
    enrollments,
    ops,
    preferences,
    roster,
    users,
)
from serve.courses import MaterialsService
from serve.replica_grpc import bind_replica_grpc
from storage.telemetry import samples_environment

app = FastAPI(
    title="SmartCourse API",
    version="0.1.0",
    description="Courses, enrollment, progress, certificates, notifications and analytics.",
)
install_error_handlers(app)
install_openapi(app)
install_docs(app)
app.add_middleware(JsonBodyMiddleware, max_depth=get_settings().json_max_depth)
app.add_middleware(
    BodyLimitMiddleware,
    max_bytes=get_settings().request_body_max_bytes,
    upload_max_bytes=get_settings().material_max_bytes,
)
app.add_middleware(RequestContextMiddleware)
app.add_middleware(SecurityHeadersMiddleware)
# A request is matched against the routes in this order, and Serve matches it again to name
# its route: the catalog's and the learners' routes (all but a few requests of the load mix)
# come first, 50-60 us of matching a request less. No route of one router matches a path of
# another (tests/unit/gateway/test_router_order.py), so the order changes no answer.
ROUTERS = (courses, enrollments, ops, auth, users, preferences, roster, certificates, analytics)
for module in ROUTERS:
    app.include_router(module.router)


@serve.deployment(name="gateway")
@serve.ingress(app)
class Gateway:
    def __init__(self, settings: Settings, materials: DeploymentHandle) -> None:
        configure_logging(settings.log_level)
        bind_replica_grpc(settings.bind_host)
        # `smartcourse up` creates the actors before deploying; a Serve config deployment
        # (KubeRay's serveConfigV2) does not, so the gateway makes sure they exist.
        ensure_actors_elsewhere(settings)
        # Routes find it through `gateway.context.context`, which asks Serve for this instance.
        self.context = GatewayContext.open(settings, materials)


def build_app(args: dict[str, Any] | None = None) -> Application:
    """Bind the materials deployment and the ingress into one application."""
    settings: Settings = (args or {}).get("settings") or get_settings()
    ongoing = settings.serve_max_ongoing_requests
    # Uploads are rare: the materials deployment scales from zero, so its process costs
    # nothing while nobody uploads.
    materials = MaterialsService.options(
        autoscaling_config={
            "min_replicas": 0,
            "max_replicas": settings.service_replicas,
            "target_ongoing_requests": 4,
        },
        max_ongoing_requests=ongoing,
        ray_actor_options={"num_cpus": settings.replica_cpus},
    ).bind(settings)
    return Gateway.options(
        autoscaling_config={
            "min_replicas": settings.gateway_min_replicas,
            "max_replicas": settings.gateway_max_replicas,
            "target_ongoing_requests": settings.gateway_target_ongoing_requests,
        },
        max_ongoing_requests=ongoing,
        ray_actor_options={
            "num_cpus": settings.replica_cpus,
            "runtime_env": {"env_vars": samples_environment(settings)},
        },
    ).bind(settings, materials)

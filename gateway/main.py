"""The gateway ingress deployment and the one function that builds the Serve application graph.

`serve run gateway.main:build_app` and `smartcourse up` both use `build_app`; nothing imports
this module (the CLI refers to it by import path), so the layering of DESIGN.md holds.
"""

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from actors.pool import ensure_actors
from core.logs import configure_logging
from core.settings import Settings, get_settings
from gateway.context import GatewayContext, install
from gateway.errors import install_error_handlers
from gateway.limits import BodyLimitMiddleware
from gateway.observability import RequestContextMiddleware
from gateway.routes import (
    analytics,
    auth,
    certificates,
    courses,
    enrollments,
    ops,
    preferences,
    users,
)
from serve.analytics import AnalyticsService
from serve.certificates import CertificatesService
from serve.courses import CoursesService
from serve.enrollments import EnrollmentsService
from serve.notifications import NotificationsService
from serve.users import UsersService

app = FastAPI(
    title="SmartCourse API",
    version="0.1.0",
    description="Courses, enrollment, progress, certificates, notifications and analytics.",
)
install_error_handlers(app)
app.add_middleware(
    BodyLimitMiddleware,
    max_bytes=get_settings().request_body_max_bytes,
    upload_max_bytes=get_settings().material_max_bytes,
)
app.add_middleware(RequestContextMiddleware)
for module in (ops, auth, users, preferences, courses, enrollments, certificates, analytics):
    app.include_router(module.router)


@serve.deployment(name="gateway")
@serve.ingress(app)
class Gateway:
    def __init__(self, settings: Settings, services: dict[str, Any]) -> None:
        configure_logging(settings.log_level)
        # `smartcourse up` creates the actors before deploying; a Serve config deployment
        # (KubeRay's serveConfigV2) does not, so the gateway makes sure they exist.
        ensure_actors(settings)
        install(GatewayContext(settings=settings, services=services))


def build_app(args: dict[str, Any] | None = None) -> Application:
    """Bind every service deployment and the gateway into one application."""
    settings: Settings = (args or {}).get("settings") or get_settings()
    ongoing = settings.serve_max_ongoing_requests
    deployments = {
        "users": UsersService,
        "courses": CoursesService,
        "enrollments": EnrollmentsService,
        "notifications": NotificationsService,
        "analytics": AnalyticsService,
        "certificates": CertificatesService,
    }
    services: dict[str, Any] = {
        name: deployment.options(
            num_replicas=settings.service_replicas,
            max_ongoing_requests=ongoing,
            ray_actor_options={"num_cpus": settings.replica_cpus},
        ).bind(settings)
        for name, deployment in deployments.items()
    }
    return Gateway.options(
        num_replicas=settings.gateway_replicas,
        max_ongoing_requests=ongoing,
        ray_actor_options={"num_cpus": settings.replica_cpus},
    ).bind(settings, services)

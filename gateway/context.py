"""What the gateway replica's routes work with: settings, the in-process services, the materials
deployment's handle, the access gate and the actor probe, built once by the Gateway
deployment's constructor, which holds them (`Gateway.context`).

Routes reach them through the `context` dependency, which asks Serve for this replica's
deployment instance. `app.state` cannot hold them: `serve.ingress` freezes a cloudpickled copy of
the app when the class is decorated, before any constructor runs (ray/serve/api.py), and the
replica serves that copy.
"""

from dataclasses import dataclass
from typing import Self

from ray import serve
from ray.serve.handle import DeploymentHandle

from core.settings import Settings
from serve.analytics import Analytics
from serve.certificates import Certificates
from serve.courses import Courses
from serve.enrollments import Enrollments
from serve.notifications import Notifications
from serve.privacy import DataRights
from serve.readiness import ActorProbe
from serve.resources import Resources
from serve.revisions import Revisions
from serve.roster import Roster
from serve.users import Users
from storage.ratelimit import AccessGate


@dataclass(frozen=True)
class Services:
    """The in-process services of one replica, sharing its pools."""

    users: Users
    courses: Courses
    enrollments: Enrollments
    notifications: Notifications
    analytics: Analytics
    certificates: Certificates
    roster: Roster
    structure: Revisions
    data_rights: DataRights

    @classmethod
    def open(cls, resources: Resources) -> Self:
        return cls(
            users=Users(resources),
            courses=Courses(resources),
            enrollments=Enrollments(resources),
            notifications=Notifications(resources),
            analytics=Analytics(resources),
            certificates=Certificates(resources),
            roster=Roster(resources),
            structure=Revisions(resources),
            data_rights=DataRights(resources),
        )


@dataclass(frozen=True)
class GatewayContext:
    settings: Settings
    services: Services
    materials: DeploymentHandle
    # The rate limit and session-revocation check of every request (gateway/auth.py).
    gate: AccessGate
    # The handles of the actors /readyz asks directly.
    actors: ActorProbe

    @classmethod
    def open(cls, settings: Settings, materials: DeploymentHandle) -> Self:
        """The replica's context. The Redis client connects on first use, so this may run
        before the event loop that serves the requests (Serve runs it on that loop anyway)."""
        resources = Resources.open(settings)
        return cls(
            settings=settings,
            services=Services.open(resources),
            materials=materials,
            # The services' Redis client: one connection pool per replica, not two.
            gate=AccessGate(resources.redis, settings.rate_limit_per_minute),
            actors=ActorProbe(settings),
        )


async def context() -> GatewayContext:
    """FastAPI dependency: the context of this replica, held by its Gateway instance. Async, so
    FastAPI calls it on the event loop: a plain function would cost every request a hop to a
    worker thread and back."""
    held = getattr(serve.get_replica_context().servable_object, "context", None)
    if not isinstance(held, GatewayContext):
        raise RuntimeError("no gateway context: the Gateway deployment's constructor builds it")
    return held

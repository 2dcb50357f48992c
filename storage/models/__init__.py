"""ORM models, one module a concept; importing the package registers every table on `Base`."""

from storage.models.base import Base
from storage.models.outbox import OutboxEvent
from storage.models.user import InstructorProfile, RefreshToken, User

__all__ = ["Base", "InstructorProfile", "OutboxEvent", "RefreshToken", "User"]

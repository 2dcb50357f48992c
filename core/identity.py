"""Who is calling: roles and the typed principal the gateway hands to services after it has
verified a JWT."""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_act_for(self, user_id: int) -> bool:
        """The user themself, or an admin."""
        return self.is_admin or self.user_id == user_id

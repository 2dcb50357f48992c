"""What a consumer group's handler may use besides its transaction."""

from dataclasses import dataclass
from typing import Self

from core.settings import Settings
from storage.temporal import TemporalConnection


@dataclass(frozen=True)
class Collaborators:
    """What a handler may use besides its transaction; one set per consumer, made at its start."""

    settings: Settings
    temporal: TemporalConnection

    @classmethod
    def open(cls, settings: Settings) -> Self:
        return cls(settings, TemporalConnection(settings))

"""The error of an event that no retry can handle, shared by every consumer group's handler."""

from typing import TypeVar

T = TypeVar("T")


class Poison(Exception):
    """An event that cannot be handled, however often it is retried (it does not parse, or the
    rows it names do not exist: the outbox commits rows before their events)."""


def required(row: T | None, what: str) -> T:
    if row is None:
        raise Poison(f"{what} does not exist")
    return row

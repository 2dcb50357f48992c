"""A consumer group skips, by the relay's type header and without parsing, the messages of
types it does not handle; a message of a handled type, or without the header (published before
it), is parsed, and one that does not parse is poison."""

import pytest
from aiokafka import ConsumerRecord

from actors.events.consumer import GroupConsumer
from actors.handlers import Poison
from core.settings import Settings
from storage.db import Database
from storage.kafka import EVENT_TYPE_HEADER

GARBAGE = b"not an envelope"


def message(headers: list[tuple[str, bytes]]) -> ConsumerRecord:
    return ConsumerRecord("enrollment.events", 0, 1, 0, 0, b"k", GARBAGE, None, 1, 15, headers)


@pytest.fixture
def certificates() -> GroupConsumer:
    settings = Settings()
    return GroupConsumer(settings, "certificate-consumer", Database(settings))


async def test_a_type_the_group_does_not_handle_is_skipped_unparsed(
    certificates: GroupConsumer,
) -> None:
    skipped = message([("traceparent", b"00-x"), (EVENT_TYPE_HEADER, b"enrollment.created")])
    assert not certificates.may_handle(skipped)
    await certificates.handle(skipped, 1)  # no parse: the garbage payload is not poison here
    assert certificates.handled == 0


@pytest.mark.parametrize("headers", [[(EVENT_TYPE_HEADER, b"enrollment.completed")], []])
async def test_a_handled_or_unnamed_type_is_parsed_and_garbage_is_poison(
    certificates: GroupConsumer, headers: list[tuple[str, bytes]]
) -> None:
    assert certificates.may_handle(message(headers))
    with pytest.raises(Poison):
        await certificates.handle(message(headers), 1)

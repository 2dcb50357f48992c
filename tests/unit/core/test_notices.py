"""The notice table: every kind has a text on each of its channels, the templates ask only for
values the consumer provides, and preferences default to on and update partially."""

import pytest
from pydantic import ValidationError

from core.emails import TEMPLATES as EMAIL_TEMPLATES
from core.events import EVENT_DATA
from core.notices import (
    CHANNELS_OF,
    KIND_OF_EVENT,
    KINDS,
    TEXTS,
    PreferencesUpdate,
    dedupe_key,
    needed_values,
    preference_view,
    render,
)


def test_every_kind_has_a_template_on_each_of_its_channels() -> None:
    assert set(CHANNELS_OF) == set(KINDS) == set(KIND_OF_EVENT.values())
    for kind, channels in CHANNELS_OF.items():
        for channel in channels:
            table = EMAIL_TEMPLATES if channel == "email" else TEXTS[channel]
            assert kind in table, (kind, channel)


def test_every_notified_event_is_a_registered_event() -> None:
    assert set(KIND_OF_EVENT) <= set(EVENT_DATA)


def test_sms_carries_the_alert_and_the_reminder() -> None:
    assert {k for k, c in CHANNELS_OF.items() if "sms" in c} == {"course_archived", "reminder"}


def test_render_folds_line_breaks_out_of_titles() -> None:
    text = render("reminder", "push", {"course_title": "A\nB", "completion_percentage": "50"})
    assert text.title == "Continue A B" and "50%" in text.body


def test_needed_values_cover_every_channel() -> None:
    assert needed_values("certificate_ready") == {
        "course_title",
        "verification_code",
        "verification_url",
    }


def test_notices_are_keyed_by_event() -> None:
    assert dedupe_key("reminder", "e1") != dedupe_key("reminder", "e2")


def test_preferences_default_to_on_and_show_every_channel_and_kind() -> None:
    view = preference_view({("sms", "reminder")})
    assert set(view) == {"email", "sms", "push", "in_app"}
    assert view["sms"]["reminder"] is False and view["email"]["reminder"] is True
    assert set(view["push"]) == set(KINDS)


def test_a_preference_update_is_partial_and_strict() -> None:
    update = PreferencesUpdate.model_validate({"push": {"reminder": False}})
    assert update.changes() == [("push", "reminder", False)]
    for bad in ({"fax": {}}, {"sms": {"nope": True}}, {"sms": {"reminder": 1}}):
        with pytest.raises(ValidationError):
            PreferencesUpdate.model_validate(bad)

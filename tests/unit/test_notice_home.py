"""One home for every notice: outside the notification consumer's handler (actors/notify.py),
nothing in workflows/ or actors/ writes an in-app notice or hands an email, SMS or push to
its queue. Workflows emit events; the consumer turns them into notices."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "actors" / "notify.py"
# What writing a notice looks like: the in-app row, or a message handed to a channel's task.
WRITES = re.compile(
    r"NewNotification\(|NotificationRepository\(|insert\(Notification\b"
    r"|enqueue_email|enqueue_message|send_email\.delay|SEND_EMAIL|SEND_SMS|SEND_PUSH"
)
# The channel tasks define (and name) what they send; they are where notices go, not sources.
CHANNEL_TASKS = {ROOT / "workflows" / "tasks" / name for name in ("email.py", "messages.py")}


def writers() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for folder in ("workflows", "actors"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == HOME or path in CHANNEL_TASKS:
                continue
            hits = WRITES.findall(path.read_text())
            if hits:
                found[str(path.relative_to(ROOT))] = hits
    return found


def test_no_notice_is_written_outside_the_notification_consumer() -> None:
    assert writers() == {}


def test_the_notification_consumer_writes_every_channel() -> None:
    source = HOME.read_text()
    for needle in ("NotificationRepository(", "enqueue_email", "enqueue_message"):
        assert needle in source

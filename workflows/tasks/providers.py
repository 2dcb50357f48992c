"""Where SMS and push messages go: a provider interface, the local sink (JSON files under the
data directory, as the SMTP sink keeps .eml files) and an HTTP provider, chosen by settings.

A message is addressed to a user id: the provider (or the gateway in front of it) resolves the
user's phone or device, so no phone number or device token reaches our queues or logs.
"""

import json
from pathlib import Path
from typing import Literal, Protocol

import httpx
from pydantic import BaseModel, Field

from core.settings import Settings

MessageChannel = Literal["sms", "push"]


class OutboundMessage(BaseModel):
    """One SMS or push message; `dedupe_key` makes sending at-most-once per key."""

    channel: MessageChannel
    user_id: int
    kind: str = Field(max_length=48)
    title: str = Field(default="", max_length=200)
    body: str = Field(min_length=1, max_length=1000)
    dedupe_key: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")


class Provider(Protocol):
    def send(self, message: OutboundMessage) -> None: ...


class LocalSink:
    """Writes each message to `<data_dir>/<channel>/<dedupe key>.json` (a rewrite of the same
    key replaces the file, so a redelivered task leaves one message)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: OutboundMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = message.dedupe_key.replace(":", "_")
        final = self.directory / f"{name}.json"
        partial = final.with_suffix(".part")
        partial.write_text(json.dumps(message.model_dump(mode="json")))
        # A reader never sees half a message: the rename is atomic.
        partial.replace(final)


class HttpProvider:
    """POSTs the message as JSON to the provider's URL with a bearer token; the dedupe key
    travels as `Idempotency-Key`, so a retried send is not a second message."""

    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: OutboundMessage) -> None:
        headers = {"Idempotency-Key": message.dedupe_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = message.model_dump(mode="json", exclude={"dedupe_key"})
        response = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout)
        response.raise_for_status()


def sink_directory(settings: Settings, channel: MessageChannel) -> Path:
    return settings.data_dir / channel


def provider_for(settings: Settings, channel: MessageChannel) -> Provider:
    kind = settings.sms_provider if channel == "sms" else settings.push_provider
    if kind == "local":
        return LocalSink(sink_directory(settings, channel))
    url = settings.sms_provider_url if channel == "sms" else settings.push_provider_url
    token = settings.sms_provider_token if channel == "sms" else settings.push_provider_token
    if not url:
        raise RuntimeError(f"SMARTCOURSE_{channel.upper()}_PROVIDER_URL is not set")
    secret = token.get_secret_value() if token else None
    return HttpProvider(url, secret, settings.provider_timeout_seconds)


def read_messages(settings: Settings, channel: MessageChannel) -> list[dict]:
    """The messages the local sink holds for `channel` (tests and `smartcourse` tools)."""
    directory = sink_directory(settings, channel)
    if not directory.exists():
        return []
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]

"""A local SMTP server that keeps every message it receives as an `.eml` file, so development
runs and tests can read the emails that were actually sent over SMTP.

`start_smtp_sink(settings)` listens on `settings.smtp_host:smtp_port` in a thread of the calling
process and writes into `<data_dir>/mail/`; `read_mail(settings)` parses what arrived. Production
points the same settings at a real SMTP server and never starts the sink.
"""

import logging
import os
import time
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from core.logs import FILE_ONLY
from core.settings import Settings
from serve.processes import port_open

log = logging.getLogger(__name__)
# aiosmtpd logs every protocol line of every session at INFO; our own line per message says
# what a person needs, so its logger keeps only warnings and errors.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def mail_folder(settings: Settings) -> Path:
    return Path(settings.data_dir) / "mail"


class MailFolderHandler:
    """aiosmtpd handler: each accepted message becomes one file, written whole or not at all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.time_ns()}-{uuid.uuid4().hex}"
        partial = self.folder / f"{name}.part"
        try:
            partial.write_bytes(envelope.original_content or envelope.content)
            # Readers list *.eml only, so they never see a half-written message.
            os.replace(partial, self.folder / f"{name}.eml")
        except OSError as error:
            # A transient answer: the sender keeps the message and retries (the email task
            # does), and this server goes on serving the next session.
            log.warning("event=smtp_sink_write_failed error=%r", error, exc_info=error)
            return "451 Requested action aborted: local error in processing"
        # One line per message is routine: the log file keeps it, the console would scroll.
        log.info("event=smtp_sink_received file=%s.eml", name, extra=FILE_ONLY)
        return "250 Message accepted for delivery"


def listen(settings: Settings, folder: Path) -> Controller:
    controller = Controller(
        MailFolderHandler(folder), hostname=settings.smtp_host, port=settings.smtp_port
    )
    controller.start()
    log.info(
        "event=smtp_sink_started port=%s folder=%s", settings.smtp_port, folder, extra=FILE_ONLY
    )
    return controller


@dataclass
class SmtpSink:
    folder: Path
    controller: Controller | None
    settings: Settings | None = None
    name: str = "smtp"

    @property
    def reused(self) -> bool:
        return self.controller is None

    def exited(self) -> str | None:
        """Why the server thread we started is gone (for the supervisor); None while it serves."""
        thread = getattr(self.controller, "_thread", None)
        if self.controller is None or thread is None or thread.is_alive():
            return None
        return "thread ended"

    def start(self) -> None:
        """Serve again on the same address (the supervisor's restart of a dead server thread)."""
        if self.settings is not None:
            self.controller = listen(self.settings, self.folder)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
            log.info("event=smtp_sink_stopped", extra=FILE_ONLY)


def start_smtp_sink(settings: Settings) -> SmtpSink:
    """Listen on the configured SMTP address, or reuse a server that already answers there
    (another `smartcourse up`); `stop()` stops only what this call started."""
    folder = mail_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    if port_open(f"{settings.smtp_host}:{settings.smtp_port}", settings.smtp_port):
        log.info("event=smtp_sink_reused port=%s", settings.smtp_port)
        return SmtpSink(folder, None)
    return SmtpSink(folder, listen(settings, folder), settings)


def read_mail(settings: Settings) -> list[EmailMessage]:
    """Every message the sink kept, oldest first."""
    files = sorted(mail_folder(settings).glob("*.eml"))
    return [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]

"""aiosmtpd as the digest mail server (the same Inbox the SMTP sender's tests use)."""

from __future__ import annotations

from aiosmtpd.controller import Controller

from tests.core.test_smtp import Inbox
from tests.servers.common import free_port


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

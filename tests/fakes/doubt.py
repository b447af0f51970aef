"""A digest left in doubt the way a crash leaves it: marked as sending, then the process
died before the mail went (``went=False``) or after the server took it (``went=True``)."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.pipeline.digests import DigestReport, deliver
from agent.pseudonym import Pseudonymiser
from agent.store import MemoryStore
from connectors.base import OutgoingMessage, Sender

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


class Died(BaseException):
    """The process ends here (a BaseException, so no handler in the digest step eats it)."""


class _DyingSender(Sender):
    def __init__(self, inner: Sender, went: bool) -> None:
        self.inner, self.went = inner, went

    def send(self, message: OutgoingMessage) -> None:
        if self.went:
            self.inner.send(message)
        raise Died


class Doubt:
    """The digest step's own store and key, so the rerun is the real one."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.pseudonymiser = Pseudonymiser(b"digest-in-doubt-key-0123456789")

    def leave(self, sender: Sender, message: OutgoingMessage, went: bool) -> None:
        with pytest.raises(Died):
            deliver([message], _DyingSender(sender, went), self.store, self.pseudonymiser, NOW)

    def rerun(self, sender: Sender, message: OutgoingMessage) -> DigestReport:
        return deliver([message], sender, self.store, self.pseudonymiser, NOW)

    def recorded_sent(self, message: OutgoingMessage) -> bool:
        return self.store.digest_sent(self.pseudonymiser.person(message.key))

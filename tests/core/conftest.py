from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.engine import Engine, RulesSource
from agent.ledger import LedgerFiles
from agent.pseudonym import Pseudonymiser
from agent.store import MemoryStore, TinyStore
from connectors.base import Connectors
from connectors.memory import MemoryCalendar, MemoryDirectory, MemoryMail, MemorySender
from rules.model import Rules
from tests.core.synth import Synth, make_org

KEY = b"test-key-0123456789abcdef"


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class World:
    """An Engine over memory connectors, a real on-disk ledger and a chosen store."""

    def __init__(self, tmp: Path, synth: Synth, rules: Rules, store: str = "tiny") -> None:
        self.synth = synth
        self.calendar = MemoryCalendar(synth.meetings)
        self.sender = MemorySender()
        self.connectors = Connectors(MemoryDirectory(synth.people), self.calendar,
                                     MemoryMail(synth.messages), self.sender)
        self.tmp = tmp
        self.store = TinyStore(tmp / "store") if store == "tiny" else MemoryStore()
        self.clock = Clock(synth.as_of)
        self.rules = rules
        self.rules_path: Path | None = None
        self.engine = self._engine()

    def _engine(self) -> Engine:
        pseudo = Pseudonymiser(KEY)
        ledger = LedgerFiles(self.tmp / "ledger", pseudo, self.rules.signals)
        source = RulesSource(self.rules_path, self.tmp / "rules.last-good.json")
        if self.rules_path is None:
            source._rules = self.rules
        return Engine(self.connectors, self.store, ledger, pseudo, source, self.clock,
                      sender_address="bridgework@example.org")

    def restart(self) -> None:
        """A new process over the same files (after a crash, say)."""
        if isinstance(self.store, TinyStore):
            self.store.close()
            self.store = TinyStore(self.tmp / "store")
        self.engine = self._engine()


@pytest.fixture
def make_world(tmp_path: Path) -> Callable[..., World]:
    def factory(rules: Rules | None = None, synth: Synth | None = None, store: str = "tiny") -> World:
        return World(tmp_path, synth or make_org(), rules or Rules(), store)

    return factory

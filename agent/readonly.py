"""A whole cycle that writes nothing anywhere: ``run --once --dry-run``, ``digest send --dry-run``.

The real engine runs against the real sources, but everything it would
change is caught in memory: the store is read through and written to an
overlay, the calendar is read through and keeps placed, moved and released
holds to itself, digests go to an in-memory sender, and the ledger is a
scratch copy deleted afterwards. Nothing here pretends: every read is real.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from agent.config import Config, secret_key
from agent.engine import Engine, RulesSource
from agent.ledger import LedgerFiles
from agent.pseudonym import Pseudonymiser
from agent.store import OptOutInbox, TinyStore
from connectors.base import Busy, Calendar, Hold, HoldMode, HoldState, Problems, Reader, SyncChunk
from connectors.common.clock import Clock, system_clock
from connectors.memory import MemorySender
from connectors.registry import build_connectors
from rules.model import Rules


class ReadOnlyCalendar(Calendar):
    """The real calendar for reading; holds placed, moved or released stay here."""

    def __init__(self, inner: Calendar) -> None:
        self.inner = inner
        self.placed: dict[str, Hold] = {}
        self.moved: dict[str, tuple[dt.datetime, dt.datetime]] = {}
        self.released: list[str] = []

    @property
    def problems(self) -> Problems:
        return self.inner.problems

    def read(self, people: Sequence[object], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        return self.inner.read(people, cursors)  # type: ignore[arg-type]

    def split(self, cursors: Mapping[str, str], parts: int) -> Sequence[Reader] | None:
        return None  # read in this process: worker processes would bypass nothing, but keep it simple

    def busy(self, emails: Sequence[str], start: dt.datetime, end: dt.datetime) -> dict[str, list[Busy]]:
        out = self.inner.busy(emails, start, end)
        for hold in self.placed.values():
            if hold.start >= end or hold.end <= start:
                continue
            holders = hold.attendees if hold.mode is HoldMode.INVITE else (hold.organizer,)
            for email in holders:
                if email in out:
                    out[email] = sorted([*out[email], Busy(hold.start, hold.end)],
                                        key=lambda b: b.start)
        return out

    def place(self, hold: Hold) -> None:
        self.placed.setdefault(hold.id, hold)

    def state(self, hold: Hold) -> HoldState:
        mine = self.placed.get(hold.id)
        if mine is not None:
            start, end = self.moved.get(hold.id, (mine.start, mine.end))
            return HoldState(True, start, end)
        if hold.id in self.released:
            return HoldState(False)
        return self.inner.state(hold)

    def _read_mark(self, hold: Hold) -> str | None:
        if hold.id in self.placed:
            return self.placed[hold.id].mark
        return self.inner._read_mark(hold)  # the guard reads the real event's mark

    def _update_time(self, hold: Hold, start: dt.datetime, end: dt.datetime) -> None:
        self.moved[hold.id] = (start, end)

    def _delete(self, hold: Hold) -> None:
        self.placed.pop(hold.id, None)
        self.released.append(hold.id)


def _key(config: Config) -> bytes:
    """The real key when there is one; a fresh store gets a throw-away key, not a new key file."""
    if (os.environ.get(config.secret.key_env) or config.secret.key_file is not None
            or (config.store.path / "secret.key").exists()):
        return secret_key(config.secret, config.store.path)  # only reads in these cases
    return secrets.token_bytes(32)


def open_read_only_engine(config: Config, clock: Clock = system_clock) -> Engine:
    """An engine over the configured sources that changes nothing outside this process."""
    store_dir = config.store.path
    scratch = Path(tempfile.mkdtemp(prefix="bridgework-dry-run-"))
    pseudonymiser = Pseudonymiser(_key(config))
    (scratch / "store").mkdir(mode=0o700)
    if (store_dir / "state.json").exists():
        shutil.copy2(store_dir / "state.json", scratch / "store" / "state.json")
    if (store_dir / "ledger").is_dir():
        shutil.copytree(store_dir / "ledger", scratch / "ledger")
    kept = store_dir / "rules.last-good.json"
    if kept.exists():
        shutil.copy2(kept, scratch / kept.name)
    connectors = build_connectors(config.source)
    if connectors.calendar is not None:
        connectors.calendar = ReadOnlyCalendar(connectors.calendar)
    connectors.sender = MemorySender()
    engine = Engine(connectors, TinyStore(scratch / "store"), LedgerFiles(scratch / "ledger", pseudonymiser,
                                                                 Rules().signals),
                    pseudonymiser, RulesSource(config.rules, scratch / kept.name), clock,
                    sender_address=config.digest.sender, digests_enabled=config.digest.enabled,
                    opt_out_address=config.digest.opt_out_address,
                    pause_address=config.digest.pause_address)
    if (store_dir / OptOutInbox.FILE).exists():
        engine.inbox = OptOutInbox(store_dir)  # only read: the offset it keeps goes to the copy
    weakref.finalize(engine, shutil.rmtree, scratch, ignore_errors=True)
    return engine

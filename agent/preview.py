"""What a digest would look like, from a data directory or the demo organisation.

The real engine runs one cycle over the data with everything it writes
kept in a scratch directory that is deleted afterwards: a throw-away key,
an in-memory store, holds in a scratch outbox, digests to an in-memory
sender. Nothing in the data directory is changed.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.dryrun import default_as_of
from agent.engine import Engine, RulesSource
from agent.ledger import LedgerFiles
from agent.pseudonym import Pseudonymiser
from agent.store import MemoryStore
from connectors.base import OutgoingMessage
from connectors.common.clock import Clock, system_clock
from connectors.common.errors import BridgeworkError
from connectors.files import FilesSettings
from connectors.memory import MemorySender
from connectors.registry import build_connectors
from rules.model import AUDIENCES, Rules


class _GivenRules(RulesSource):
    """Rules already loaded (the preview adds its admin to them)."""

    def __init__(self, rules: Rules) -> None:
        super().__init__(None)
        self._rules = rules


class _Clock:
    def __init__(self, clock: Clock) -> None:
        self.real = clock
        self.at: dt.datetime | None = None

    def __call__(self) -> dt.datetime:
        return self.at or self.real()


@dataclass(frozen=True)
class Preview:
    message: OutgoingMessage
    week: str
    people: int
    holds: int


def digest_moment(rules: Rules, day: dt.date) -> dt.datetime:
    """The configured digest time on ``day``, in the digests' zone."""
    hour, minute = (int(x) for x in rules.digests.time.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(rules.digests.timezone))


def preview(data: Path, rules: Rules, audience: str, who: str | None = None, *,
            clock: Clock = system_clock, progress: Callable[[str], None] = lambda _: None) -> Preview:
    """One audience's digest as one cycle over ``data`` would send it.

    :raises BridgeworkError: an unknown audience, or ``who`` gets no such digest.
    """
    if audience not in AUDIENCES:
        raise BridgeworkError(f"--audience: expected one of {', '.join(AUDIENCES)}, got {audience!r}")
    who = who.strip().lower() if who else None
    with tempfile.TemporaryDirectory(prefix="bridgework-preview-") as scratch:
        root = Path(scratch)
        connectors = build_connectors(FilesSettings(type="files", path=data, outbox=root / "outbox"))
        sender = MemorySender()
        connectors.sender = sender
        people = list(connectors.directory.people())
        if not people:
            raise BridgeworkError(f"{data / 'people.csv'} lists nobody")
        admin = who if audience == "admin" and who else (rules.digests.admins or [
            f"admin@{people[0].email.split('@', 1)[1]}"])[0]
        rules = rules.model_copy(update={"digests": rules.digests.model_copy(
            update={"admins": [admin], "audiences": list(AUDIENCES)})})
        key = secrets.token_bytes(32)
        timing = _Clock(clock)
        engine = Engine(connectors, MemoryStore(), LedgerFiles(root / "ledger", Pseudonymiser(key),
                                                                rules.signals),
                        Pseudonymiser(key), _GivenRules(rules), timing,
                        sender_address="bridgework@preview.invalid")
        engine.opt_out_address = f"bridgework+stop@{admin.split('@', 1)[1]}"
        engine.pause_address = f"bridgework+pause@{admin.split('@', 1)[1]}"
        progress("reading the data")
        engine.sync(progress)
        timing.at = digest_moment(rules, default_as_of(engine.ledger, clock().date()))
        progress("one cycle: analyse, place, compose")
        report = engine.run_once(progress)
        if not report.digests.sent:
            engine.digests(force=True)
        holds = len(report.place.placed) + len(report.place.suggested)
        message = _choose(sender.sent, audience, who, engine)
        week = message.key.split("/")[1]
        return Preview(message, week, len(people), holds)


def _choose(sent: list[OutgoingMessage], audience: str, who: str | None,
            engine: Engine) -> OutgoingMessage:
    mine = [m for m in sent if m.key.startswith(f"{audience}/")]
    if who is not None:
        for message in mine:
            if message.to == who:
                return message
        raise BridgeworkError(f"{who} gets no {audience} digest this week"
                              + (" (nothing placed for them and no lapsed tie)"
                                 if audience == "person" else
                                 " (nobody reports to them)" if audience == "manager" else ""))
    if not mine:
        raise BridgeworkError(f"nobody gets a {audience} digest from this data")
    if audience != "person":
        return max(mine, key=lambda m: (len(m.text), m.to))  # the fullest example
    org = engine.org()
    placed = {org.by_pseudonym.get(p) for r in engine.store.suggestions() for p in r.people}
    return max(mine, key=lambda m: (m.to in placed, len(m.text), m.to))

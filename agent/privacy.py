"""A person's data on request, and only as long as it is needed.

- **Forget** (``bridgework forget EMAIL``): the person is marked forgotten at
  once (from then on the directory they are in is read without them: nothing
  of theirs is counted, planned or sent), then every job finishes what the
  mark asks until it is done: their future holds released through the
  calendar (its guard applies), their suggestion records and digest records
  removed, their pair weights taken out of every ledger week and their
  pseudonym out of the ledger's people list. A calendar that fails leaves the
  mark unfinished, and the next job tries again. While the daemon holds the
  store, the request waits in ``forget.inbox`` (a pseudonym a line) for its
  next job, as opt-outs do.
- **Export** (``bridgework export EMAIL``): what is held about the person,
  read without the store lock; other people are never named, only counted.
- **Retention**: each sync prunes ledger weeks older than
  ``privacy.retention_weeks`` (the engine), and :func:`enforce_retention`
  drops finished suggestion records and digest records as old.

The audit log (:mod:`agent.audit`) keeps its pseudonymous lines: it is the
record of what was written to calendars and mailboxes, the forgetting included.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agent import audit
from agent.config import Config, secret_key
from agent.digest import week_label
from agent.ledger import LedgerFiles, week_of, week_start
from agent.lifecycle import FINAL, Stage
from agent.pipeline.org import Org, load_org
from agent.pipeline.upkeep import release_orphan
from agent.pseudonym import Pseudonymiser
from agent.store import Store, TinyStore, validate_state
from connectors.base import Connectors, Person
from connectors.common.clock import Clock
from connectors.common.errors import ConnectorError, NotOurEvent
from connectors.common.fileio import append_private
from rules.model import Rules

log = logging.getLogger(__name__)

#: Store meta key: pseudonym -> {"at": when asked, "done": whether all of it is gone}.
FORGOTTEN_KEY = "privacy.forgotten"
INBOX = "forget.inbox"
_INBOX_OFFSET = "privacy.forget_inbox_offset"
_AUDIENCES = ("person", "manager", "admin")


# --- who is forgotten ---------------------------------------------------------------
def forgotten(store: Store) -> dict[str, dict[str, Any]]:
    raw = store.meta(FORGOTTEN_KEY)
    value = json.loads(raw) if raw else {}
    return value if isinstance(value, dict) else {}


def _save_forgotten(store: Store, marks: Mapping[str, Mapping[str, Any]]) -> None:
    store.set_meta(FORGOTTEN_KEY, json.dumps(marks, sort_keys=True))


def mark_forgotten(store: Store, pseudonym: str, now: dt.datetime) -> bool:
    """Mark a person forgotten (the rest follows in :func:`apply`); False if marked already."""
    marks = forgotten(store)
    if pseudonym in marks:
        return False
    marks[pseudonym] = {"at": now.isoformat(), "done": False}
    _save_forgotten(store, marks)
    return True


def without_forgotten(people: Iterable[Person], store: Store,
                      pseudonymiser: Pseudonymiser) -> list[Person]:
    """The directory as every step sees it: forgotten people are not in it."""
    marks = forgotten(store)
    return [p for p in people if not marks or pseudonymiser.person(p.email) not in marks]


def request(store_dir: Path, pseudonym: str) -> None:
    """Leave a forget request for the daemon that holds the store (done at its next job)."""
    append_private(store_dir / INBOX, f"forget {pseudonym}\n".encode())


def _take_requests(store_dir: Path, store: Store, now: dt.datetime) -> None:
    try:
        data = (store_dir / INBOX).read_bytes()
    except FileNotFoundError:
        return
    start = int(store.meta(_INBOX_OFFSET) or 0)
    if start > len(data):
        start = 0  # replaced: marking again is harmless
    end = data.rfind(b"\n") + 1
    for line in data[start:end].decode(errors="replace").splitlines():
        op, _, pseudonym = line.partition(" ")
        if op == "forget" and pseudonym:
            mark_forgotten(store, pseudonym.strip(), now)
    if end > start:
        store.set_meta(_INBOX_OFFSET, str(end))


# --- forgetting ---------------------------------------------------------------------
class Parts(Protocol):
    """What forgetting works with (an Engine has all of it)."""

    store: Store
    ledger: LedgerFiles
    connectors: Connectors
    pseudonymiser: Pseudonymiser
    clock: Clock


@dataclass
class Forgetting:
    """What one pass of :func:`apply` did for one person."""

    pseudonym: str
    released: int = 0
    records: int = 0
    digests: int = 0
    ledger_rows: int = 0
    waiting: list[str] = field(default_factory=list)  # holds the calendar could not release yet

    @property
    def done(self) -> bool:
        return not self.waiting


def apply(engine: Parts, email: str | None = None) -> list[Forgetting]:
    """Take in waiting requests, then finish every forgetting not yet done.

    ``email`` helps find digest records of a forgotten person who is no longer
    in the directory (their keys are keyed by the address).
    """
    store, now = engine.store, engine.clock()
    if isinstance(store, TinyStore):
        _take_requests(store.path.parent, store, now)
    marks = forgotten(store)
    open_marks = [p for p, mark in marks.items() if not mark.get("done")]
    if not open_marks:
        return []
    everyone = load_org(engine.connectors.directory.people(), engine.pseudonymiser)
    done = []
    for pseudonym in open_marks:
        address = everyone.by_pseudonym.get(pseudonym)
        if address is None and email and engine.pseudonymiser.person(email) == pseudonym:
            address = email
        result = _forget(engine, pseudonym, address, everyone, now)
        done.append(result)
        if result.done:
            marks[pseudonym] = {**marks[pseudonym], "done": True}
            _save_forgotten(store, marks)
            audit.forgotten(pseudonym, result.released, now)
        else:
            log.warning("forgetting a person: %d hold(s) could not be released yet; trying "
                        "again at the next job", len(result.waiting))
    return done


def _forget(engine: Parts, pseudonym: str, email: str | None, everyone: Org,
            now: dt.datetime) -> Forgetting:
    """One pass for one person; ``everyone`` is the directory with the forgotten in it (a
    hold is released from its organiser's calendar, who may be the forgotten person)."""
    store, calendar = engine.store, engine.connectors.calendar
    result = Forgetting(pseudonym)
    gone: set[str] = set()
    for record in store.suggestions():
        if pseudonym not in record.people:
            continue
        upcoming = record.start is not None and dt.datetime.fromisoformat(record.start) > now
        # Any stage but suggested may have left an event (upkeep cancels a record whose
        # organiser was forgotten without being able to name their calendar): releasing
        # an event that is gone costs one read.
        if calendar is not None and upcoming and record.status is not Stage.SUGGESTED:
            try:
                if release_orphan(record, calendar, everyone, now):
                    result.released += 1
            except NotOurEvent:
                log.warning("hold %s no longer carries Bridgework's mark; left alone", record.id)
            except ConnectorError as exc:
                log.warning("hold %s could not be released yet (%s)", record.id, exc.message)
                result.waiting.append(record.id)
                continue
        gone.add(record.id)
    store.remove_suggestions(gone)
    result.records = len(gone)
    if email is not None:
        keys = _digest_keys(store.digests(), email, engine.pseudonymiser)
        store.remove_digests(set(keys))
        result.digests = len(keys)
    store.remove_opt_out(pseudonym)  # the mark keeps them out now
    store.remove_pauses({pseudonym})
    result.ledger_rows = engine.ledger.forget(pseudonym)
    return result


def _digest_keys(recorded: Mapping[str, str], email: str,
                 pseudonymiser: Pseudonymiser) -> dict[str, tuple[str, str]]:
    """The recorded digest keys that belong to ``email``, each with its audience and week (a
    key is keyed by audience, week and address: it is found by trying the weeks around when
    it was recorded)."""
    found = {}
    for key, when in recorded.items():
        base = key.removesuffix(":sending")
        sent = dt.datetime.fromisoformat(when).date()
        weeks = {week_label(sent + dt.timedelta(days=d)) for d in (-7, 0, 7)}
        for audience in _AUDIENCES:
            for week in weeks:
                if pseudonymiser.person(f"{audience}/{week}/{email}") == base:
                    found[key] = (audience, week)
    return found


# --- retention ----------------------------------------------------------------------
@dataclass
class Pruned:
    records: int = 0
    digests: int = 0


def enforce_retention(store: Store, rules: Rules, now: dt.datetime) -> Pruned:
    """Drop finished suggestion records and digest records older than the retention period,
    and finished records of forgotten people whatever their age."""
    oldest = week_of(now) - rules.privacy.retention_weeks
    marks = forgotten(store)
    old = {r.id for r in store.suggestions() if r.status in FINAL
           and (r.week < oldest or not marks.keys().isdisjoint(r.people))}
    store.remove_suggestions(old)
    since = week_start(oldest).isoformat()
    stale = {k for k, when in store.digests().items() if when[:10] < since}
    store.remove_digests(stale)
    if old or stale:
        log.info("retention: %d suggestion record(s) and %d digest record(s) dropped",
                 len(old), len(stale))
    return Pruned(len(old), len(stale))


# --- export -------------------------------------------------------------------------
def export(config: Config, email: str) -> dict[str, Any]:
    """Everything the store directory holds about ``email``, as JSON-ready data.

    Read without the lock (every state file is replaced atomically) and without
    writing anything. Other people are counted, never named.
    """
    email = email.strip().lower()
    store_dir = config.store.path
    out: dict[str, Any] = {"email": email, "store": str(store_dir), "forgotten": None,
                           "opted_out": False, "ledger_weeks": [], "future_meetings": 0,
                           "suggestions": [], "digests": [], "audit": []}
    key = _existing_key(config)
    if key is None:
        return out  # no key was ever made: nothing was ever kept
    pseudonymiser = Pseudonymiser(key)
    pseudonym = pseudonymiser.person(email)
    out["pseudonym"] = pseudonym
    tables = _state_tables(store_dir)
    meta = {d["key"]: d["value"] for d in tables.get("meta", {}).values()}
    mark = json.loads(meta.get(FORGOTTEN_KEY, "{}")).get(pseudonym)
    out["forgotten"] = mark
    out["opted_out"] = any(d["pseudonym"] == pseudonym
                           for d in tables.get("opt_outs", {}).values())
    out["pause_asked"] = next((d.get("asked") for d in tables.get("pauses", {}).values()
                                if d.get("pseudonym") == pseudonym), None)
    out["suggestions"] = [_record_view(d, pseudonym) for d in tables.get("suggestions", {}).values()
                          if pseudonym in d["people"]]
    recorded = {d["key"]: d["sent"] for d in tables.get("digests", {}).values()}
    digests: dict[tuple[str, str], dict[str, Any]] = {}
    for key_, (audience, week) in sorted(_digest_keys(recorded, email, pseudonymiser).items()):
        # ``:sending`` is written before a send and stays; alone it means the send was cut short
        view = digests.setdefault((audience, week), {"audience": audience, "week": week,
                                                     "state": "in doubt"})
        if not key_.endswith(":sending"):
            view.update(state="sent", sent=recorded[key_])
    out["digests"] = [digests[k] for k in sorted(digests)]
    if (store_dir / "ledger" / "people.json").exists():
        ledger = LedgerFiles(store_dir / "ledger", pseudonymiser, Rules().signals)
        out["ledger_weeks"], out["future_meetings"] = _ledger_view(ledger, email)
    out["audit"] = [_audit_view(e, pseudonym) for e in audit.entries(store_dir)
                    if _names(e, pseudonym)]
    return out


def _existing_key(config: Config) -> bytes | None:
    settings = config.secret
    if (os.environ.get(settings.key_env) or settings.key_file is not None
            or settings.credential is not None or (config.store.path / "secret.key").exists()):
        return secret_key(settings, config.store.path)  # only reads in these cases
    return None


def _state_tables(store_dir: Path) -> dict[str, dict[str, Any]]:
    path = store_dir / TinyStore.FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    return validate_state(path, raw)


def _record_view(doc: Mapping[str, Any], pseudonym: str) -> dict[str, Any]:
    return {"id": doc["id"], "week": week_start(doc["week"]).isoformat(), "status": doc["status"],
            "mode": doc["mode"], "start": doc.get("start"), "end": doc.get("end"),
            "departments": list(doc["departments"]), "organizer": doc["people"][0] == pseudonym,
            "others": len(doc["people"]) - 1,
            "history": [{"stage": t["stage"], "at": t["at"], "cause": t["cause"],
                         "by_them": pseudonym in t.get("by", [])}
                        for t in doc.get("transitions", [])]}


def _ledger_view(ledger: LedgerFiles, email: str) -> tuple[list[dict[str, Any]], int]:
    index = ledger.id_of(email)
    if index is None:
        return [], 0
    weeks = []
    for week in ledger.weeks():
        contacts = ledger.load_week(week)
        mine = (contacts.a == index) | (contacts.b == index)
        if mine.any():
            weeks.append({"week": week_start(week).isoformat(), "contacts": int(mine.sum()),
                          "weight": round(float(contacts.weight[mine].sum()), 3)})
    future = sum(1 for members in ledger.future_attendees() if index in members)
    return weeks, future


def _names(entry: Mapping[str, object], pseudonym: str) -> bool:
    people = entry.get("people")
    return (entry.get("to") == pseudonym or entry.get("person") == pseudonym
            or (isinstance(people, list) and pseudonym in people))


def _audit_view(entry: Mapping[str, object], pseudonym: str) -> dict[str, object]:
    """The entry with other people's pseudonyms left out."""
    view = {k: v for k, v in entry.items() if k not in ("people", "to", "person")}
    people = entry.get("people")
    if isinstance(people, list):
        view["others"] = len(people) - 1
    return view

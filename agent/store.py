"""Durable state: sync cursors, suggestion and hold history, digests sent, opt-outs.

People appear here only as pseudonyms. ``TinyStore`` keeps everything in one
TinyDB JSON file that is replaced atomically on every write (temp file,
fsync, rename) with mode 0600, so a crash leaves either the old or the new
state, never half of one. ``MemoryStore`` is the in-memory twin the tests
also run the store contract against. One process at a time: ``lock_store``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, TypeAdapter, ValidationError
from tinydb import Query, TinyDB
from tinydb.storages import Storage

from agent.lifecycle import Cause, Stage, Transition, check_transition
from connectors.common.errors import ConfigError, StoreLocked
from connectors.common.fileio import make_private_dir, write_private

SCHEMA_VERSION = 1

# A suggestion's stages and their causes are agent.lifecycle's. ``planned`` is
# written before the calendar is touched, so a crash between the two is finished
# on the next run.


@dataclass(frozen=True)
class SuggestionRecord:
    id: str  # the hold id: deterministic for the suggestion
    people: tuple[str, ...]  # pseudonyms; the organiser first
    departments: tuple[str, ...]
    reason: str
    week: int
    created: str  # ISO time
    status: Stage
    mode: str
    start: str | None = None
    end: str | None = None
    updated: str | None = None
    transitions: tuple[Transition, ...] = ()

    def advance(self, stage: Stage, cause: Cause, now: dt.datetime, *, by: Iterable[str] = (),
                start: dt.datetime | None = None, end: dt.datetime | None = None) -> SuggestionRecord:
        """The record after one transition, kept with its time and cause; a new slot
        (``start``/``end``) becomes the record's own.

        :raises ValueError: the lifecycle has no such transition (a bug).
        """
        check_transition(self.status, stage, cause)
        slot = (start.isoformat(), end.isoformat()) if start and end else (None, None)
        step = Transition(stage, now.isoformat(), cause, tuple(by), *slot)
        changes: dict[str, Any] = {}
        if slot[0] is not None:
            changes = {"start": slot[0], "end": slot[1]}
        return replace(self, status=stage, updated=now.isoformat(),
                       transitions=(*self.transitions, step), **changes)


class StateDamaged(ConfigError):
    """A state file is damaged or missing where it must exist; the message names it and the way out."""

    def __init__(self, path: Path, problem: str, remedy: str | None = None) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"the state file {path} {problem}. " + (remedy or _restore_hint(path)))


def last_good_path(path: Path) -> Path:
    """Where the copy of a state file that last loaded cleanly is kept."""
    return path.with_name(path.name + ".last-good")


def _restore_hint(path: Path) -> str:
    backup = last_good_path(path)
    if backup.exists():
        return (f"A copy that last loaded cleanly is kept in {backup}: `bridgework doctor --repair "
                "--config FILE` puts it back (the damaged file is kept beside it).")
    return ("No good copy is kept; restore it from a backup, or move the store directory away "
            "to start afresh (every interaction is read again and digests may repeat).")


@dataclass
class StoreState:
    """Everything a Store keeps, as plain data."""

    cursors: dict[str, str] = field(default_factory=dict)
    suggestions: dict[str, SuggestionRecord] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)  # key -> when sent
    opt_outs: set[str] = field(default_factory=set)  # pseudonyms
    pauses: dict[str, str] = field(default_factory=dict)  # pseudonym -> when they asked
    meta: dict[str, str] = field(default_factory=dict)


class Store(Protocol):
    def cursors(self) -> dict[str, str]: ...
    def save_cursors(self, cursors: Mapping[str, str]) -> None: ...
    def suggestions(self) -> list[SuggestionRecord]: ...
    def save_suggestion(self, record: SuggestionRecord) -> None: ...
    def save_plan(self, run: str, records: list[SuggestionRecord]) -> None:
        """Record a planning run's whole plan and that it was made, in one atomic step."""
        ...
    def plan_recorded(self, run: str) -> bool: ...
    def remove_suggestions(self, ids: set[str]) -> None: ...
    def digest_sent(self, key: str) -> bool: ...
    def mark_digest_sent(self, key: str, when: dt.datetime) -> None: ...
    def digests(self) -> dict[str, str]:
        """Every digest key recorded (sent, or ``:sending``) and when."""
        ...
    def remove_digests(self, keys: set[str]) -> None: ...

    def opt_outs(self) -> set[str]: ...
    def add_opt_out(self, pseudonym: str) -> None: ...
    def remove_opt_out(self, pseudonym: str) -> None: ...
    def pauses(self) -> dict[str, str]:
        """Who asked for a pause ("not now") and when (ISO time), by pseudonym."""
        ...
    def add_pause(self, pseudonym: str, asked: dt.datetime) -> None:
        """Record a pause asked at ``asked``; an earlier ask than the one kept changes nothing."""
        ...
    def remove_pauses(self, pseudonyms: set[str]) -> None: ...
    def meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self.state = StoreState()

    def cursors(self) -> dict[str, str]:
        return dict(self.state.cursors)

    def save_cursors(self, cursors: Mapping[str, str]) -> None:
        self.state.cursors.update(cursors)

    def suggestions(self) -> list[SuggestionRecord]:
        return list(self.state.suggestions.values())

    def save_suggestion(self, record: SuggestionRecord) -> None:
        self.state.suggestions[record.id] = record

    def save_plan(self, run: str, records: list[SuggestionRecord]) -> None:
        for record in records:
            self.state.suggestions[record.id] = record
        self.state.meta[_plan_key(run)] = str(len(records))

    def plan_recorded(self, run: str) -> bool:
        return _plan_key(run) in self.state.meta

    def remove_suggestions(self, ids: set[str]) -> None:
        for id_ in ids:
            self.state.suggestions.pop(id_, None)

    def digest_sent(self, key: str) -> bool:
        return key in self.state.digests

    def mark_digest_sent(self, key: str, when: dt.datetime) -> None:
        self.state.digests[key] = when.isoformat()

    def digests(self) -> dict[str, str]:
        return dict(self.state.digests)

    def remove_digests(self, keys: set[str]) -> None:
        for key in keys:
            self.state.digests.pop(key, None)

    def opt_outs(self) -> set[str]:
        return set(self.state.opt_outs)

    def add_opt_out(self, pseudonym: str) -> None:
        self.state.opt_outs.add(pseudonym)

    def remove_opt_out(self, pseudonym: str) -> None:
        self.state.opt_outs.discard(pseudonym)

    def pauses(self) -> dict[str, str]:
        return dict(self.state.pauses)

    def add_pause(self, pseudonym: str, asked: dt.datetime) -> None:
        if _later(asked, self.state.pauses.get(pseudonym)):
            self.state.pauses[pseudonym] = asked.isoformat()

    def remove_pauses(self, pseudonyms: set[str]) -> None:
        for pseudonym in pseudonyms:
            self.state.pauses.pop(pseudonym, None)

    def meta(self, key: str) -> str | None:
        return self.state.meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self.state.meta[key] = value


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _CursorsDoc(_Doc):
    key: str
    value: dict[str, str]


class _DigestDoc(_Doc):
    key: str
    sent: str


class _OptOutDoc(_Doc):
    pseudonym: str


def _moment(value: str) -> str:
    dt.datetime.fromisoformat(value)  # raises ValueError naming it
    return value


class _PauseDoc(_Doc):
    pseudonym: str
    asked: Annotated[str, AfterValidator(_moment)]


class _MetaDoc(_Doc):
    key: str
    value: str


#: Stages as stores written before the lifecycle had its enum named them.
_LEGACY_STAGES = {"placed": Stage.HELD, "released": Stage.EXPIRED, "removed": Stage.CANCELLED}


def _known_stage(value: str) -> str:
    if value not in _LEGACY_STAGES:
        Stage(value)  # raises ValueError naming it
    return value


def _known_cause(value: str) -> str:
    Cause(value)  # raises ValueError naming it
    return value


class _TransitionDoc(_Doc):
    stage: Annotated[str, AfterValidator(_known_stage)]
    at: str
    cause: Annotated[str, AfterValidator(_known_cause)]
    by: list[str] = []
    start: str | None = None
    end: str | None = None


class _SuggestionDoc(_Doc):
    id: str
    people: list[str]
    departments: list[str]
    reason: str
    week: int
    created: str
    status: Annotated[str, AfterValidator(_known_stage)]
    mode: str
    start: str | None = None
    end: str | None = None
    updated: str | None = None
    note: str = ""  # stores written before transitions were kept
    transitions: list[_TransitionDoc] = []


_TABLES: dict[str, type[_Doc]] = {"cursors": _CursorsDoc, "digests": _DigestDoc,
                                  "opt_outs": _OptOutDoc, "pauses": _PauseDoc, "meta": _MetaDoc,
                                  "suggestions": _SuggestionDoc}
_FILE = TypeAdapter(dict[str, dict[str, dict[str, Any]]])


def validate_state(path: Path, raw: bytes) -> dict[str, dict[str, Any]]:
    """The state file's tables, every document checked; damage raises StateDamaged naming it."""
    if not raw.strip():
        raise StateDamaged(path, "is damaged: it is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateDamaged(path, f"is damaged: it is not text (byte {exc.start} is not UTF-8)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateDamaged(path, f"is damaged: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                 f"{exc.msg})") from None
    try:
        tables = _FILE.validate_python(data)
    except ValidationError:
        raise StateDamaged(path, "is damaged: it does not hold tables of documents") from None
    for table, docs in tables.items():
        model = _TABLES.get(table)
        if model is None:
            raise StateDamaged(path, f"is damaged: it has an unknown table {table!r}")
        for doc_id, doc in docs.items():
            if not doc_id.isdigit():
                raise StateDamaged(path, f"is damaged: it has a document id {doc_id!r} in {table!r}")
            try:
                model.model_validate(doc)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "(document)"
                raise StateDamaged(path, f"is damaged: {table!r} document {doc_id} is wrong "
                                         f"({where}: {first['msg']})") from None
    return tables


class AtomicJSONStorage(Storage):
    """TinyDB storage that never leaves a half-written file behind, and never reads
    a damaged one: every load is validated (``validate_state``)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return validate_state(self.path, raw)

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        write_private(self.path, json.dumps(data, sort_keys=True).encode())

    def close(self) -> None:
        pass


def _later(asked: dt.datetime, kept: str | None) -> bool:
    """Is ``asked`` a later ask than the one kept (a resync reads old asks again)?"""
    return kept is None or asked > dt.datetime.fromisoformat(kept)


def _plan_key(run: str) -> str:
    return f"plan:{run}"


def _stage(value: str) -> Stage:
    return _LEGACY_STAGES.get(value) or Stage(value)


def _record_from(doc: Mapping[str, Any]) -> SuggestionRecord:
    data = dict(doc)
    data.pop("note", None)
    data["people"] = tuple(data["people"])
    data["departments"] = tuple(data["departments"])
    data["status"] = _stage(data["status"])
    steps = tuple(Transition(_stage(t["stage"]), t["at"], Cause(t["cause"]), tuple(t.get("by", ())),
                             t.get("start"), t.get("end")) for t in data.get("transitions", ()))
    if not steps:  # an older store: the stage it reached, when it last changed
        steps = (Transition(data["status"], data.get("updated") or data["created"], Cause.MIGRATED),)
    data["transitions"] = steps
    return SuggestionRecord(**data)


class TinyStore:
    """The embedded default: one TinyDB file, ``state.json``, in the store directory."""

    FILE = "state.json"

    def __init__(self, directory: Path) -> None:
        make_private_dir(directory)
        self.path = directory / self.FILE
        raw = self._check_present(directory)
        self.db = TinyDB(str(self.path), storage=AtomicJSONStorage)
        meta = self.db.table("meta")
        version = meta.get(Query().key == "schema")
        if version is None:
            meta.insert({"key": "schema", "value": str(SCHEMA_VERSION)})
        elif version["value"] != str(SCHEMA_VERSION):
            raise ConfigError(f"state in {directory} has schema {version['value']}; "
                              f"this version reads {SCHEMA_VERSION}")
        if raw is not None:
            keep_last_good(self.path, raw)

    def checkpoint(self) -> None:
        """Keep the state as it is now as the last good copy (after a job ended well)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        validate_state(self.path, raw)
        keep_last_good(self.path, raw)

    def _check_present(self, directory: Path) -> bytes | None:
        """The state's bytes, validated; a missing store beside a ledger is refused, because
        starting afresh would read every interaction again and repeat every digest."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            ledger = directory / "ledger"
            if ledger.is_dir() and any(ledger.glob("week-*.npz")):
                raise StateDamaged(self.path, f"is missing, but the ledger beside it ({ledger}) "
                                              "holds data, so this is not a new store") from None
            return None
        if not raw.strip() and not (directory / "ledger").is_dir():
            return None  # created empty and never written: nothing was lost
        validate_state(self.path, raw)
        return raw

    def cursors(self) -> dict[str, str]:
        doc = self.db.table("cursors").get(Query().key == "all")
        return dict(doc["value"]) if doc else {}

    def save_cursors(self, cursors: Mapping[str, str]) -> None:
        if not cursors:
            return
        current = self.cursors()
        current.update(cursors)
        # One document, one atomic write: never a moment with the cursors half saved.
        self.db.table("cursors").upsert({"key": "all", "value": current}, Query().key == "all")

    def suggestions(self) -> list[SuggestionRecord]:
        return [_record_from(d) for d in self.db.table("suggestions").all()]

    def save_suggestion(self, record: SuggestionRecord) -> None:
        self.db.table("suggestions").upsert(asdict(record), Query().id == record.id)

    def save_plan(self, run: str, records: list[SuggestionRecord]) -> None:
        # One read-modify-write of the whole file, so the plan and its marker land together.
        data = self.db.storage.read() or {}
        suggestions = data.setdefault("suggestions", {})
        by_id = {doc["id"]: doc_id for doc_id, doc in suggestions.items()}
        next_id = max((int(i) for i in suggestions), default=0) + 1
        for record in records:
            doc_id = by_id.get(record.id)
            if doc_id is None:
                doc_id, next_id = str(next_id), next_id + 1
            suggestions[doc_id] = asdict(record)
        meta = data.setdefault("meta", {})
        marker = {"key": _plan_key(run), "value": str(len(records))}
        existing = [i for i, doc in meta.items() if doc["key"] == marker["key"]]
        meta[existing[0] if existing else str(max((int(i) for i in meta), default=0) + 1)] = marker
        self.db.storage.write(data)
        for name in ("suggestions", "meta"):
            table = self.db.table(name)
            table.clear_cache()
            table._next_id = None  # TinyDB caches its next document id per table

    def plan_recorded(self, run: str) -> bool:
        return self.meta(_plan_key(run)) is not None

    def remove_suggestions(self, ids: set[str]) -> None:
        if ids:
            self.db.table("suggestions").remove(Query().id.one_of(sorted(ids)))

    def digest_sent(self, key: str) -> bool:
        return self.db.table("digests").contains(Query().key == key)

    def mark_digest_sent(self, key: str, when: dt.datetime) -> None:
        self.db.table("digests").upsert({"key": key, "sent": when.isoformat()}, Query().key == key)

    def digests(self) -> dict[str, str]:
        return {d["key"]: d["sent"] for d in self.db.table("digests").all()}

    def remove_digests(self, keys: set[str]) -> None:
        if keys:
            self.db.table("digests").remove(Query().key.one_of(sorted(keys)))

    def opt_outs(self) -> set[str]:
        return {d["pseudonym"] for d in self.db.table("opt_outs").all()}

    def add_opt_out(self, pseudonym: str) -> None:
        self.db.table("opt_outs").upsert({"pseudonym": pseudonym}, Query().pseudonym == pseudonym)

    def remove_opt_out(self, pseudonym: str) -> None:
        self.db.table("opt_outs").remove(Query().pseudonym == pseudonym)

    def pauses(self) -> dict[str, str]:
        return {d["pseudonym"]: d["asked"] for d in self.db.table("pauses").all()}

    def add_pause(self, pseudonym: str, asked: dt.datetime) -> None:
        table = self.db.table("pauses")
        kept = table.get(Query().pseudonym == pseudonym)
        if _later(asked, kept["asked"] if kept else None):
            table.upsert({"pseudonym": pseudonym, "asked": asked.isoformat()},
                         Query().pseudonym == pseudonym)

    def remove_pauses(self, pseudonyms: set[str]) -> None:
        if pseudonyms:
            self.db.table("pauses").remove(Query().pseudonym.one_of(sorted(pseudonyms)))

    def meta(self, key: str) -> str | None:
        doc = self.db.table("meta").get(Query().key == key)
        return None if doc is None else str(doc["value"])

    def set_meta(self, key: str, value: str) -> None:
        self.db.table("meta").upsert({"key": key, "value": value}, Query().key == key)

    def close(self) -> None:
        self.db.close()


def keep_last_good(path: Path, raw: bytes) -> None:
    """Keep ``raw`` (a state file that just loaded cleanly) as its last good copy."""
    backup = last_good_path(path)
    try:
        if backup.read_bytes() == raw:
            return
    except OSError:
        pass
    write_private(backup, raw)


class OptOutInbox:
    """Opt-outs and opt-ins written while a daemon may hold the store.

    ``bridgework opt-out`` appends a line (no lock needed: appends of a short
    line are atomic); the engine applies new lines to the store at the start of
    each job and remembers how far it read, so nothing is lost or applied twice.
    """

    FILE = "opt-outs.inbox"

    def __init__(self, store_dir: Path) -> None:
        self.path = store_dir / self.FILE

    def append(self, opting_out: bool, pseudonym: str) -> None:
        make_private_dir(self.path.parent)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{'out' if opting_out else 'in'} {pseudonym}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def drain(self, store: Store) -> int:
        """Apply what was appended since the last drain; returns how many lines."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return 0
        start = int(store.meta("opt_out_inbox_offset") or 0)
        if start > len(data):
            start = 0  # the inbox was replaced: read it all (applying twice is harmless)
        end = data.rfind(b"\n") + 1
        applied = 0
        for line in data[start:end].decode(errors="replace").splitlines():
            op, _, pseudonym = line.partition(" ")
            if op == "out" and pseudonym:
                store.add_opt_out(pseudonym)
            elif op == "in" and pseudonym:
                store.remove_opt_out(pseudonym)
            applied += 1
        if end > start:
            store.set_meta("opt_out_inbox_offset", str(end))
        return applied


_held_locks: set[int] = set()


def drop_inherited_locks() -> None:
    """In a forked child: close the parent's lock descriptors, so that if the parent
    dies the lock goes with it instead of living on in the child."""
    for fd in list(_held_locks):
        with suppress(OSError):
            os.close(fd)
    _held_locks.clear()


@contextmanager
def lock_store(directory: Path) -> Iterator[None]:
    """Hold the store's lock for the duration; a second process gets StoreLocked."""
    make_private_dir(directory)
    fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreLocked(f"another Bridgework process is using {directory}") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        _held_locks.add(fd)
        yield
    finally:
        _held_locks.discard(fd)
        os.close(fd)

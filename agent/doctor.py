"""``bridgework doctor``: check every state file, and with ``repair`` restore what can be.

What each file is and how it comes back:

- ``state.json`` (cursors, suggestions, digests sent): the copy that last
  loaded cleanly is kept as ``state.json.last-good``; repair puts it back and
  keeps the damaged file beside it. Digests recorded since that copy may be
  in doubt, never resent blindly (the digest step marks a send before it).
- ``ledger/`` (weekly pseudonymised contact): repair moves the whole ledger
  aside and clears the sync cursors, so the next sync rebuilds it from the
  sources; interactions are counted by digest, so nothing is counted twice.
  ``rebuild_ledger`` does the same on request, for a sound ledger written
  before schema 4 or 5 (its weeks lack the mail weight the messages signal
  reads, or the conversations the conversations signal reads).
- ``rules.last-good.json``: repair removes it; the next good rules file
  writes it again.
- ``secret.key`` (when generated): cannot be rebuilt. Without it every
  pseudonym changes, so doctor says so and repairs nothing there.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from agent.config import Config
from agent.store import StateDamaged, TinyStore, last_good_path, validate_state
from connectors.common.clock import Clock, system_clock
from connectors.common.fileio import write_private
from rules.model import Rules


@dataclass
class Finding:
    path: Path
    problem: str
    repair: str | None = None  # what --repair does about it; None: nothing can be done here
    repaired: bool = False


@dataclass
class Checkup:
    findings: list[Finding] = field(default_factory=list)
    checked: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing, not damage

    @property
    def healthy(self) -> bool:
        return all(f.repaired for f in self.findings)


def _ledger_problems(ledger: Path) -> tuple[list[tuple[Path, str]], int, int]:
    """Every damaged ledger file, read the way the ledger reads it, and how many weeks have a
    part written before the ledger kept mail weights (schema 4) and conversations (schema 5)."""
    import numpy as np

    from agent.ledger.conversations import unpack

    problems: list[tuple[Path, str]] = []
    without_mail: set[str] = set()
    without_conversations: set[str] = set()
    people: list[object] | None = []  # None: unreadable, so week files cannot be checked against it
    for name, kind in (("meta.json", dict), ("people.json", list), ("pending.json", dict)):
        path = ledger / name
        if not path.exists():
            continue
        try:
            value = json.loads(path.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append((path, f"not valid JSON ({exc})"))
            people = None if name == "people.json" else people
            continue
        if not isinstance(value, kind):
            problems.append((path, f"holds a {type(value).__name__}, not a {kind.__name__}"))
            people = None if name == "people.json" else people
        elif isinstance(value, list):
            people = value
    for path in sorted(ledger.glob("week-*.npz")):
        try:
            with np.load(path) as data:
                a, b = data["a"], data["b"]
                sizes = {a.size, b.size, data["weight"].size}
                if "mail" in data.files:
                    sizes.add(data["mail"].size)
                else:
                    without_mail.add(path.stem.split("-")[1])
                if "conversations" in data.files:
                    arrays_fit = unpack(data["conversations"], a.size) is not None
                else:
                    without_conversations.add(path.stem.split("-")[1])
                    arrays_fit = True
                arrays_fit = arrays_fit and data["seen"].ndim == 1
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            problems.append((path, f"cannot be read ({type(exc).__name__}: {exc})"))
            continue
        if len(sizes) != 1 or not arrays_fit:
            problems.append((path, "its arrays do not fit together"))
        elif people is not None and a.size and max(int(a.max()), int(b.max())) >= len(people):
            problems.append((path, "names people that people.json does not list"))
    return problems, len(without_mail), len(without_conversations)


def check(config: Config, repair: bool = False, clock: Clock = system_clock) -> Checkup:
    """Check the store directory's files; with ``repair``, restore what can be restored."""
    store_dir = config.store.path
    stamp = clock().strftime("%Y%m%dT%H%M%S")
    result = Checkup()
    ledger = store_dir / "ledger"

    state = store_dir / TinyStore.FILE
    result.checked.append(state)
    try:
        if state.exists():
            validate_state(state, state.read_bytes())
        elif ledger.is_dir() and any(ledger.glob("week-*.npz")):
            raise StateDamaged(state, "is missing, but the ledger beside it holds data")
    except StateDamaged as exc:
        backup = last_good_path(state)
        usable = backup.exists()
        if usable:
            try:
                validate_state(backup, backup.read_bytes())
            except StateDamaged:
                usable = False
        finding = Finding(state, exc.problem,
                          f"restore {backup.name}" if usable else None)
        if repair and usable:
            if state.exists():
                state.rename(state.with_name(f"{state.name}.damaged-{stamp}"))
            write_private(state, backup.read_bytes())
            finding.repaired = True
        result.findings.append(finding)

    if ledger.is_dir():
        result.checked.append(ledger)
        problems, without_mail, without_conversations = _ledger_problems(ledger)
        for path, problem in problems:
            result.findings.append(Finding(path, problem, "move the ledger aside and rebuild it "
                                                          "from the sources at the next sync"))
        if repair and problems and state.exists():
            try:
                store = TinyStore(store_dir)
            except StateDamaged:
                store = None  # the store itself is beyond repair: leave the ledger as it is
            if store is not None:
                _set_aside(ledger, store, f"ledger.damaged-{stamp}")
                for finding in result.findings[-len(problems):]:
                    finding.repaired = True
        elif not problems and (without_mail or without_conversations):
            lacking = ([f"{without_mail} week(s) written before ledger schema 4 have no mail "
                        "weights (the messages-per-mail-tie signal)"] if without_mail else [])
            if without_conversations:
                lacking.append(f"{without_conversations} week(s) written before ledger schema 5 "
                               "have no conversations (the conversations signal)")
            result.notes.append(
                f"{ledger}: " + "; ".join(lacking) + ", so seams are judged without those "
                "signals until their windows hold none of these weeks; "
                "`bridgework doctor --rebuild-ledger` recounts the ledger from the sources now")

    rules_copy = store_dir / "rules.last-good.json"
    if rules_copy.exists():
        result.checked.append(rules_copy)
        try:
            Rules.model_validate_json(rules_copy.read_bytes())
        except (ValidationError, ValueError) as exc:
            finding = Finding(rules_copy, f"is not a readable copy of rules ({type(exc).__name__})",
                              "remove it: the next good rules file writes it again")
            if repair:
                rules_copy.unlink()
                finding.repaired = True
            result.findings.append(finding)

    generated = store_dir / "secret.key"
    if _uses_generated_key(config):
        result.checked.append(generated)
        if not generated.exists() and ledger.is_dir() and any(ledger.glob("week-*.npz")):
            result.findings.append(Finding(generated, "is missing, yet a ledger was written with it"))
        elif generated.exists():
            try:
                text = generated.read_bytes().decode().strip()
            except UnicodeDecodeError:
                text = ""
            if len(text) < 16:
                result.findings.append(Finding(generated, "is damaged (not a key of 16 or more "
                                                          "characters); restore it from a backup"))
    return result


def _set_aside(ledger: Path, store: TinyStore, name: str) -> Path:
    """Move the ledger away and clear the sync cursors: the next sync reads every source again
    and counts each interaction once (by its digest)."""
    moved = ledger.with_name(name)
    ledger.rename(moved)
    store.db.table("cursors").truncate()
    store.close()
    return moved


def rebuild_ledger(config: Config, clock: Clock = system_clock) -> Path | None:
    """Set a sound ledger aside to be counted afresh from the sources at the next sync; where
    it went (None: there is no ledger). The old one is kept until its owner deletes it."""
    store_dir = config.store.path
    ledger = store_dir / "ledger"
    if not ledger.is_dir():
        return None
    store = TinyStore(store_dir)
    return _set_aside(ledger, store, f"ledger.before-rebuild-{clock().strftime('%Y%m%dT%H%M%S')}")


def _uses_generated_key(config: Config) -> bool:
    s = config.secret
    return (not os.environ.get(s.key_env) and "key_env" not in s.model_fields_set
            and s.credential is None and s.key_file is None)


def describe(result: Checkup, repair: bool) -> list[str]:
    lines = []
    for f in result.findings:
        # a finding reads as a sentence about its file: "... is damaged: ...", "... is missing"
        found = f"{f.path} {f.problem if f.problem.startswith('is ') else 'is damaged: ' + f.problem}"
        if f.repaired:
            lines.append(f"repaired: {found} ({f.repair})")
        elif f.repair:
            lines.append(f"{found}; `bridgework doctor --repair` will {f.repair}"
                         if not repair else f"not repaired: {found}")
        else:
            lines.append(f"{found}; this cannot be repaired here")
    if not result.findings:
        lines.append(f"all {len(result.checked)} state files are sound")
    return lines + [f"note: {note}" for note in result.notes]


"""Damaged state under the real daemon: a clear error naming the file (exit 2, no traceback)
or a clean recovery, never a silent reset; `doctor --repair` brings it back with nothing resent."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.fakes.old_schemas import as_schema_3
from tests.ops.daemon import KEY, World, make_data, make_world, outcome, run_to_idle

Damage = Callable[[Path], str]  # damages the store directory, returns the file it names


def _write(name: str, data: bytes) -> Damage:
    def damage(store: Path) -> str:
        (store / name).write_bytes(data)
        return name
    return damage


def _delete(name: str) -> Damage:
    def damage(store: Path) -> str:
        (store / name).unlink()
        return name
    return damage


def _truncate_week(store: Path) -> str:
    week = sorted((store / "ledger").glob("week-*.npz"))[-1]
    week.write_bytes(week.read_bytes()[:100])
    return f"ledger/{week.name}"


def _wrong_document(store: Path) -> str:
    data = json.loads((store / "state.json").read_text())
    doc = next(iter(data["suggestions"].values()))
    doc["week"] = "last week"
    (store / "state.json").write_text(json.dumps(data))
    return "state.json"


def _broken_rules_and_copy(store: Path) -> str:
    (store.parent / "rules.yaml").write_text("meetings: {mode: sometimes}\n")
    (store / "rules.last-good.json").write_text('{"meetings": 7}')
    return "rules.last-good.json"


CASES: dict[str, Damage] = {
    "state emptied": _write("state.json", b""),
    "state deleted beside the ledger": _delete("state.json"),
    "state truncated": _write("state.json", b'{"suggestions": {"1": {"id": "ab'),
    "state not text": _write("state.json", b"\x89PNG\r\n\x1a\n\x00\x00"),
    "state with a wrong document": _wrong_document,
    "state a list": _write("state.json", b"[]"),
    "ledger people not JSON": _write("ledger/people.json", b"\x00\x00\x00"),
    "ledger meta not JSON": _write("ledger/meta.json", b"{"),
    "ledger pending of the wrong kind": _write("ledger/pending.json", b"[1, 2]"),
    "ledger week truncated": _truncate_week,
    "last good rules damaged while the rules file is broken": _broken_rules_and_copy,
}
#: Cases repaired and run again: the result must equal the undamaged run's.
REPAIRED = ("state truncated", "state deleted beside the ledger", "ledger week truncated")


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    folder = Path(tempfile.mkdtemp(prefix="bridgework-damage-", dir=base))
    world = make_world(folder / "reference", make_data(folder))
    assert run_to_idle(world) == 0
    yield world
    shutil.rmtree(folder, ignore_errors=True)


def _copy(world: World, name: str) -> World:
    copy = make_world(world.root.parent / name.replace(" ", "-"), world.data)
    shutil.copytree(world.store, copy.store)
    shutil.copytree(world.outbox, copy.outbox)
    return copy


def _doctor(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", "doctor", "--config", str(world.config),
                           *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "BRIDGEWORK_SECRET_KEY": KEY})


def test_every_damage_is_a_clear_error_and_repair_restores_the_outcome(finished: World) -> None:
    expected = outcome(finished)

    def one(name: str) -> tuple[str, str | None]:
        world = _copy(finished, name)
        named = CASES[name](world.store)
        code = run_to_idle(world)
        log = world.log.read_text()
        if code != 2 or "Traceback" in log or f"{named} " not in log.split("error: ")[-1]:
            return name, f"exit {code}:\n{log}"
        if outcome(world) != expected:
            return name, "outputs changed before the error"
        if name in REPAIRED:
            found = _doctor(world)
            if found.returncode != 2 or named not in found.stdout:
                return name, f"doctor did not name it: {found.stdout}{found.stderr}"
            repaired = _doctor(world, "--repair")
            if repaired.returncode != 0 or run_to_idle(world) != 0:
                return name, f"repair: {repaired.stdout}{repaired.stderr}\n{world.log.read_text()}"
            if outcome(world) != expected:
                return name, "after repair the holds or digests differ (something was resent)"
        return name, None

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(pool.map(one, CASES))
    failed = {name: why for name, why in results.items() if why}
    print(f"\n{len(CASES) - len(failed)}/{len(CASES)} damaged-state cases: a clear error naming "
          f"the file; {len(REPAIRED)} repaired by doctor with the same holds and digests")
    assert not failed, failed


def test_damaged_opt_out_inbox_is_a_clean_recovery(finished: World) -> None:
    world = _copy(finished, "inbox")
    (world.store / "opt-outs.inbox").write_bytes(b"\xff\xfe garbage\nout\nsideways x\n")
    assert run_to_idle(world) == 0, world.log.read_text()
    assert "Traceback" not in world.log.read_text()
    assert outcome(world) == outcome(finished)


def _weights(ledger: Path) -> tuple[float, int, int]:
    """Total weight, pair-weeks, and week files without mail weights."""
    import numpy as np

    total, rows, old = 0.0, 0, 0
    for path in ledger.glob("week-*.npz"):
        with np.load(path) as data:
            total += float(data["weight"].sum())
            rows += int(data["a"].size)
            old += "mail" not in data.files
    return round(total, 3), rows, old


def test_a_schema_3_ledger_runs_and_rebuild_ledger_recounts_it_once(finished: World) -> None:
    expected = outcome(finished)
    world = _copy(finished, "schema 3")
    ledger = world.store / "ledger"
    as_schema_3(ledger)
    total, rows, old = _weights(ledger)
    assert old > 0
    assert run_to_idle(world) == 0, world.log.read_text()  # read as it is, marked schema 5
    assert outcome(world) == expected
    assert json.loads((ledger / "meta.json").read_text())["schema"] == 5
    checked = _doctor(world)
    assert checked.returncode == 0 and "written before ledger schema 4" in checked.stdout
    assert "written before ledger schema 5 have no conversations" in checked.stdout
    assert "--rebuild-ledger" in checked.stdout
    rebuilt = _doctor(world, "--rebuild-ledger")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    moved = list(world.store.glob("ledger.before-rebuild-*"))
    assert len(moved) == 1 and not ledger.exists() and str(moved[0]) in rebuilt.stdout
    world.log.unlink()  # the daemon's log is appended to: the next run must find its own lines
    assert run_to_idle(world) == 0, world.log.read_text()
    assert "0 interactions" not in world.log.read_text()  # the sources were read again
    assert _weights(ledger) == (total, rows, 0)  # every interaction again, each counted once
    assert outcome(world) == expected  # nothing placed or sent twice
    assert "written before" not in _doctor(world).stdout

"""Reading sources in worker processes gives exactly the ledger a sequential sync gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from agent import pipeline
from agent.ledger import LedgerFiles
from agent.pseudonym import Pseudonymiser
from agent.store import TinyStore
from connectors.base import Mail, SyncChunk
from connectors.demo import generate
from connectors.registry import FilesSettings, build_connectors
from rules.model import Rules

AS_OF = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 6, tzinfo=dt.UTC)


def run_sync(data: Path, state: Path, parallel: bool, now: dt.datetime = NOW,
             split_from: int | None = None) -> pipeline.SyncReport:
    pseudo = Pseudonymiser(b"parallel-test-key-0123456789")
    connectors = build_connectors(FilesSettings(type="files", path=data))
    if split_from is not None:  # read messages.jsonl in two byte ranges
        connectors.mail.split_min_bytes = split_from  # type: ignore[union-attr]
    org = pipeline.load_org(connectors.directory.people(), pseudo)
    ledger = LedgerFiles(state / "ledger", pseudo, Rules().signals)
    return pipeline.sync(connectors, ledger, TinyStore(state / "store"), org, now,
                         commit_every=5_000, parallel=parallel)


def ledger_contents(state: Path) -> dict[int, tuple[np.ndarray, ...]]:
    ledger = LedgerFiles(state / "ledger", Pseudonymiser(b"parallel-test-key-0123456789"), Rules().signals)
    out = {}
    for week in ledger.weeks():
        c = ledger.load_week(week)
        out[week] = (c.a, c.b, np.round(c.weight, 4), c.seen)
    return out


def test_parallel_and_sequential_sync_agree(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, people=80, weeks=20, seed=3, as_of=AS_OF)
    seq = run_sync(data, tmp_path / "seq", parallel=False)
    par = run_sync(data, tmp_path / "par", parallel=True)
    assert par.stats == seq.stats and par.new == seq.new > 0
    a, b = ledger_contents(tmp_path / "seq"), ledger_contents(tmp_path / "par")
    assert a.keys() == b.keys()
    for week in a:
        for x, y in zip(a[week], b[week], strict=True):
            assert np.array_equal(x, y)
    assert (tmp_path / "seq" / "ledger" / "pending.json").read_text() == \
        (tmp_path / "par" / "ledger" / "pending.json").read_text()
    # both stored their cursors: a second run reads nothing new
    again = run_sync(data, tmp_path / "par", parallel=True)
    assert again.new == 0


def test_problems_found_in_workers_are_reported(tmp_path: Path) -> None:
    from agent.dryrun import dry_run

    data = tmp_path / "data"
    generate(data, people=40, weeks=14, seed=4, as_of=AS_OF)
    with open(data / "events.jsonl", "a") as handle:
        handle.write('{"id": "x", "start": "2026-11-02T10:00:00", "organizer": 7}\n')
    lines = (data / "events.jsonl").read_text().count("\n")
    result = dry_run(data, Rules(), AS_OF)
    assert any(f"events.jsonl:{lines}:" in p for p in result.problems), result.problems


class Exploding(Mail):
    """A source that fails half-way, as a broken connector would."""

    parallel_safe = True

    def read(self, people, cursors):  # type: ignore[no-untyped-def]
        yield SyncChunk([], "exploding", "1")
        raise OSError("disk gone")


def test_a_failing_worker_stops_the_sync_and_keeps_no_cursor(tmp_path: Path) -> None:
    import pytest

    from connectors.base import Connectors

    data = tmp_path / "data"
    generate(data, people=40, weeks=14, seed=5, as_of=AS_OF)
    pseudo = Pseudonymiser(b"parallel-test-key-0123456789")
    files = build_connectors(FilesSettings(type="files", path=data))
    connectors = Connectors(files.directory, files.calendar, Exploding())
    org = pipeline.load_org(connectors.directory.people(), pseudo)
    store = TinyStore(tmp_path / "store")
    ledger = LedgerFiles(tmp_path / "ledger", pseudo, Rules().signals)
    with pytest.raises(OSError, match="disk gone"):
        pipeline.sync(connectors, ledger, store, org, NOW, parallel=True)
    assert "exploding" not in store.cursors()


def test_a_file_read_in_two_ranges_gives_the_same_ledger(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, people=80, weeks=20, seed=6, as_of=AS_OF)
    lines = (data / "messages.jsonl").read_text().splitlines()
    lines[-3] = "{not json"  # a bad line in the second range keeps its true line number
    (data / "messages.jsonl").write_text("\n".join(lines) + "\n")
    seq = run_sync(data, tmp_path / "seq", parallel=False)
    split = run_sync(data, tmp_path / "split", parallel=True, split_from=1)
    assert split.stats == seq.stats
    a, b = ledger_contents(tmp_path / "seq"), ledger_contents(tmp_path / "split")
    assert a.keys() == b.keys()
    for week in a:
        for x, y in zip(a[week], b[week], strict=True):
            assert np.array_equal(x, y)
    assert run_sync(data, tmp_path / "split", parallel=True, split_from=1).new == 0
    connectors = build_connectors(FilesSettings(type="files", path=data))
    connectors.mail.split_min_bytes = 1  # type: ignore[union-attr]
    org = pipeline.load_org(connectors.directory.people(), Pseudonymiser(b"k" * 20))
    ledger = LedgerFiles(tmp_path / "third" / "ledger", Pseudonymiser(b"k" * 20), Rules().signals)
    pipeline.sync(connectors, ledger, TinyStore(tmp_path / "third"), org, NOW, parallel=True)
    problems = connectors.mail.problems  # type: ignore[union-attr]
    assert [p for p in problems if f"messages.jsonl:{len(lines) - 2}:" in p], problems


ORPHAN_SCRIPT = """
import datetime as dt, sys, time
from pathlib import Path
import agent.pipeline.workers
from agent import pipeline
from agent.ledger import LedgerFiles
from agent.pseudonym import Pseudonymiser
from agent.store import TinyStore, lock_store
from connectors.registry import FilesSettings, build_connectors
from rules.model import Rules

agent.pipeline.workers.PART_PAIRS = 50  # many small parts: the readers soon wait on a full queue
data, state = Path(sys.argv[1]), Path(sys.argv[2])
with lock_store(state):
    pseudo = Pseudonymiser(b"orphan-test-key-0123456789")
    connectors = build_connectors(FilesSettings(type="files", path=data))
    org = pipeline.load_org(connectors.directory.people(), pseudo)
    ledger = LedgerFiles(state / "ledger", pseudo, Rules().signals)
    ledger.absorb = lambda *a: time.sleep(60)  # a parent that stops reading, then is killed
    print("syncing", flush=True)
    pipeline.sync(connectors, ledger, TinyStore(state), org, dt.datetime.now(dt.UTC), parallel=True)
"""


def test_readers_let_go_of_the_store_when_the_parent_dies(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from agent.store import lock_store
    from connectors.common.errors import StoreLocked

    data = tmp_path / "data"
    generate(data, people=60, weeks=16, seed=8, as_of=AS_OF)
    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN_SCRIPT)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, str(script), str(data), str(tmp_path / "state")],
                            stdout=subprocess.PIPE, text=True, cwd=root,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "syncing"
    time.sleep(1.5)  # the readers fill the queue and wait
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            with lock_store(tmp_path / "state"):
                break
        except StoreLocked:
            assert time.monotonic() < deadline, "a reader process kept the store locked"
            time.sleep(0.2)

"""One store contract, run against the in-memory store and the TinyDB store."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import stat
from pathlib import Path
from typing import Any

import pytest

from agent.lifecycle import Cause, Stage
from agent.store import MemoryStore, Store, SuggestionRecord, TinyStore, lock_store
from connectors.common.errors import ConfigError, StoreLocked

NOW = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)


def record(id_: str = "abc", status: Stage = Stage.PLANNED) -> SuggestionRecord:
    return SuggestionRecord(id_, ("p1", "p2"), ("Legal", "Sales"), "reconnect", 2968,
                            NOW.isoformat(), status, "invite", NOW.isoformat(), NOW.isoformat())


class StoreContract:
    def make(self, tmp_path: Path) -> Store:
        raise NotImplementedError

    def test_cursors_merge(self, tmp_path: Path) -> None:
        store = self.make(tmp_path)
        store.save_cursors({"a": "1", "b": "2"})
        store.save_cursors({"b": "3"})
        assert store.cursors() == {"a": "1", "b": "3"}

    def test_suggestions_upsert_by_id(self, tmp_path: Path) -> None:
        store = self.make(tmp_path)
        store.save_suggestion(record())
        store.save_suggestion(record().advance(Stage.HELD, Cause.PLACED, NOW))
        store.save_suggestion(record("other"))
        got = {r.id: r for r in store.suggestions()}
        assert got["abc"].status is Stage.HELD and got["abc"].people == ("p1", "p2")
        assert got["abc"].transitions[-1].cause is Cause.PLACED
        assert len(got) == 2

    def test_digests_and_opt_outs(self, tmp_path: Path) -> None:
        store = self.make(tmp_path)
        assert not store.digest_sent("k")
        store.mark_digest_sent("k", NOW)
        assert store.digest_sent("k")
        store.add_opt_out("p1")
        store.add_opt_out("p1")
        assert store.opt_outs() == {"p1"}
        store.remove_opt_out("p1")
        assert store.opt_outs() == set()

    def test_meta(self, tmp_path: Path) -> None:
        store = self.make(tmp_path)
        assert store.meta("x") is None
        store.set_meta("x", "y")
        assert store.meta("x") == "y"


class TestMemoryStore(StoreContract):
    def make(self, tmp_path: Path) -> Store:
        return MemoryStore()


class TestTinyStore(StoreContract):
    def make(self, tmp_path: Path) -> Store:
        return TinyStore(tmp_path / "store")

    def test_survives_reopen_and_is_private(self, tmp_path: Path) -> None:
        store = TinyStore(tmp_path / "store")
        store.save_suggestion(record())
        store.close()
        again = TinyStore(tmp_path / "store")
        assert [r.id for r in again.suggestions()] == ["abc"]
        path = tmp_path / "store" / "state.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert not list((tmp_path / "store").glob(".*.tmp"))

    def test_damaged_file_is_a_clear_error(self, tmp_path: Path) -> None:
        (tmp_path / "store").mkdir()
        (tmp_path / "store" / "state.json").write_text('{"meta": {')
        with pytest.raises(ConfigError, match="damaged"):
            TinyStore(tmp_path / "store")

    def test_newer_schema_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "store").mkdir()
        (tmp_path / "store" / "state.json").write_text(
            json.dumps({"meta": {"1": {"key": "schema", "value": "99"}}}))
        with pytest.raises(ConfigError, match="schema 99"):
            TinyStore(tmp_path / "store")


def _hold_lock(path: str, ready: Any, done: Any) -> None:
    with lock_store(Path(path)):
        ready.set()
        done.wait(10)


def test_one_process_per_store(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, done))
    other.start()
    try:
        assert ready.wait(10)
        with pytest.raises(StoreLocked), lock_store(tmp_path):
            pass
    finally:
        done.set()
        other.join(10)
    with lock_store(tmp_path):
        pass

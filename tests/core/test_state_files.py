"""State files are validated on load: damage is named with the way out, a good copy is kept,
a lost store beside a ledger is refused, and a day's plan lands in one write."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from agent.lifecycle import Stage
from agent.store import StateDamaged, SuggestionRecord, TinyStore, last_good_path

NOW = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)


def _record(id_: str) -> SuggestionRecord:
    return SuggestionRecord(id_, ("p1", "p2"), ("Legal", "Sales"), "reconnect", 2968,
                            NOW.isoformat(), Stage.PLANNED, "hold", NOW.isoformat(),
                            NOW.isoformat())


def _store_with_data(tmp_path: Path) -> Path:
    store = TinyStore(tmp_path / "s")
    store.save_suggestion(_record("a"))
    store.close()
    TinyStore(tmp_path / "s").close()  # a clean load keeps the last good copy
    return tmp_path / "s" / "state.json"


@pytest.mark.parametrize(("damage", "says"), [
    (b"", "is empty"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'{"meta": {', "not valid JSON (line 1"),
    (b"[1, 2]", "does not hold tables"),
    (b'{"nonsense": {}}', "unknown table 'nonsense'"),
    (b'{"suggestions": {"1": {"id": 3}}}', "'suggestions' document 1 is wrong"),
    (b'{"digests": {"x": {"key": "k", "sent": "t"}}}', "document id 'x'"),
])
def test_damage_is_named_with_the_way_out(tmp_path: Path, damage: bytes, says: str) -> None:
    path = _store_with_data(tmp_path)
    path.write_bytes(damage)
    with pytest.raises(StateDamaged) as info:
        TinyStore(tmp_path / "s")
    message = info.value.message
    assert str(path) in message and says in message
    assert "bridgework doctor --repair" in message  # a good copy exists, and the way to it
    good = json.loads(last_good_path(path).read_bytes())
    assert any(d["id"] == "a" for d in good["suggestions"].values())


def test_damage_without_a_good_copy_says_so(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "state.json").write_text("{")
    with pytest.raises(StateDamaged, match="No good copy is kept"):
        TinyStore(tmp_path / "s")


def test_a_lost_store_beside_a_ledger_is_refused(tmp_path: Path) -> None:
    path = _store_with_data(tmp_path)
    (tmp_path / "s" / "ledger").mkdir()
    (tmp_path / "s" / "ledger" / "week-02968.npz").write_bytes(b"weights")
    path.unlink()
    with pytest.raises(StateDamaged, match=r"is missing, but the ledger beside it"):
        TinyStore(tmp_path / "s")
    path.write_bytes(b"")  # emptied instead of deleted: the same refusal
    with pytest.raises(StateDamaged, match="is empty"):
        TinyStore(tmp_path / "s")


def test_a_new_store_starts_cleanly(tmp_path: Path) -> None:
    store = TinyStore(tmp_path / "fresh")
    assert store.suggestions() == [] and not store.plan_recorded("2026-11-23")


def test_a_plan_and_its_marker_land_in_one_write(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store = TinyStore(tmp_path / "s")
    store.save_suggestion(_record("old"))
    writes: list[int] = []
    real_write = store.db.storage.write
    monkeypatch.setattr(store.db.storage, "write", lambda data: (writes.append(1), real_write(data)))
    store.save_plan("2026-11-23", [_record("x"), _record("y"), _record("old")])
    assert len(writes) == 1
    assert store.plan_recorded("2026-11-23") and not store.plan_recorded("2026-11-24")
    assert sorted(r.id for r in store.suggestions()) == ["old", "x", "y"]
    store.save_suggestion(_record("z"))  # TinyDB's own writes carry on from the new ids
    store.close()
    again = TinyStore(tmp_path / "s")
    assert sorted(r.id for r in again.suggestions()) == ["old", "x", "y", "z"]


def test_doctor_says_what_is_wrong_with_each_file_once() -> None:
    from agent.doctor import Checkup, Finding, describe

    state, week = Path("/s/state.json"), Path("/s/ledger/week-2026-11-23.npz")
    result = Checkup([Finding(state, "is damaged: it is empty", "restore state.json.last-good"),
                      Finding(week, "its arrays do not fit together", "move the ledger aside"),
                      Finding(Path("/s/secret.key"), "is missing, yet a ledger was written with it")])
    assert describe(result, repair=False) == [
        "/s/state.json is damaged: it is empty; `bridgework doctor --repair` will restore "
        "state.json.last-good",
        f"{week} is damaged: its arrays do not fit together; `bridgework doctor --repair` will "
        "move the ledger aside",
        "/s/secret.key is missing, yet a ledger was written with it; this cannot be repaired here"]
    result.findings[0].repaired = True
    assert describe(result, repair=True)[:2] == [
        "repaired: /s/state.json is damaged: it is empty (restore state.json.last-good)",
        f"not repaired: {week} is damaged: its arrays do not fit together"]

"""Stages, transitions and how the store keeps them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from agent.lifecycle import ALLOWED, FINAL, Cause, Stage, check_transition, declines, member_stage
from agent.store import MemoryStore, StateDamaged, SuggestionRecord, TinyStore

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def planned() -> SuggestionRecord:
    return SuggestionRecord("h1", ("p1", "p2", "p3", "p4"), ("A", "B", "C", "D"), "peer-circle",
                            2930, NOW.isoformat(), Stage.PLANNED, "invite", NOW.isoformat(),
                            (NOW + dt.timedelta(hours=1)).isoformat())


def test_every_stage_has_its_transitions_and_finals_only_note_their_removal() -> None:
    assert set(ALLOWED) == set(Stage)
    for stage in FINAL:
        assert ALLOWED[stage] == {stage}
        with pytest.raises(ValueError, match="only notes"):
            check_transition(stage, stage, Cause.ACCEPTED)
        check_transition(stage, stage, Cause.UNINSTALL)
    with pytest.raises(ValueError, match="a met hold cannot become held"):
        check_transition(Stage.MET, Stage.HELD, Cause.PLACED)
    with pytest.raises(ValueError):
        check_transition(Stage.PLANNED, Stage.MET, Cause.HAPPENED)  # never placed, never met


def test_advance_keeps_time_cause_who_and_the_new_slot() -> None:
    later = NOW + dt.timedelta(days=1)
    record = planned().advance(Stage.HELD, Cause.PLACED, NOW)
    record = record.advance(Stage.HELD, Cause.MEMBER_DECLINED, NOW, by=["p3"])
    moved = record.advance(Stage.MOVED, Cause.CONFLICT, later, start=later,
                           end=later + dt.timedelta(minutes=30))
    assert [t.stage for t in moved.transitions] == [Stage.HELD, Stage.HELD, Stage.MOVED]
    assert moved.start == later.isoformat() and moved.updated == later.isoformat()
    assert moved.transitions[-1].start == later.isoformat()
    assert declines(moved) == {"p3": NOW}
    assert member_stage(moved, "p3") is Stage.DECLINED and member_stage(moved, "p1") is Stage.MOVED


@pytest.mark.parametrize("kind", ["memory", "tiny"])
def test_the_store_keeps_every_transition(kind: str, tmp_path: Path) -> None:
    store = MemoryStore() if kind == "memory" else TinyStore(tmp_path / "s")
    record = planned().advance(Stage.HELD, Cause.PLACED, NOW).advance(
        Stage.DECLINED, Cause.DECLINED, NOW, by=["p2"])
    store.save_suggestion(record)
    if isinstance(store, TinyStore):
        store.close()
        store = TinyStore(tmp_path / "s")
    (got,) = store.suggestions()
    assert got.status is Stage.DECLINED
    assert got.transitions == record.transitions
    assert got.transitions[-1].cause is Cause.DECLINED and got.transitions[-1].by == ("p2",)


def _write_state(path: Path, doc: dict[str, object]) -> None:
    path.mkdir()
    (path / "state.json").write_text(json.dumps({"suggestions": {"1": doc},
                                                 "meta": {"1": {"key": "schema", "value": "1"}}}))


def test_a_store_written_before_transitions_is_read_as_stages(tmp_path: Path) -> None:
    doc = {"id": "old", "people": ["p1", "p2"], "departments": ["A", "B"], "reason": "new-tie",
           "week": 2930, "created": NOW.isoformat(), "status": "placed", "mode": "invite",
           "start": None, "end": None, "updated": NOW.isoformat(), "note": ""}
    _write_state(tmp_path / "s", doc)
    (got,) = TinyStore(tmp_path / "s").suggestions()
    assert got.status is Stage.HELD
    assert [(t.stage, t.cause) for t in got.transitions] == [(Stage.HELD, Cause.MIGRATED)]


def test_an_unknown_stage_or_cause_is_named_as_damage(tmp_path: Path) -> None:
    doc = {"id": "x", "people": ["p1"], "departments": ["A"], "reason": "new-tie", "week": 1,
           "created": NOW.isoformat(), "status": "held", "mode": "invite",
           "transitions": [{"stage": "held", "at": NOW.isoformat(), "cause": "a whim"}]}
    _write_state(tmp_path / "s", doc)
    with pytest.raises(StateDamaged, match=r"'suggestions' document 1 is wrong \(transitions"):
        TinyStore(tmp_path / "s")

"""A full cycle over memory connectors: drift found, holds placed once, looked after."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from agent.lifecycle import Stage
from connectors.base import Hold, Response
from connectors.memory import StoredEvent
from rules.model import Rules
from tests.core.conftest import World


def hold_rules(**meetings: object) -> Rules:
    return Rules.model_validate({"meetings": {"mode": "invite", **meetings},
                                 "pairing": {"per_seam_per_week": 3},
                                 "digests": {"admins": ["admin@example.org"]}})


def holds(world: World) -> list[tuple[str, str]]:
    return sorted(world.calendar.events)


def event_of(world: World, hold_id: str) -> tuple[tuple[str, str], StoredEvent]:
    """The calendar event of a hold, with its (owner, id) key."""
    key = next(k for k in world.calendar.events if k[1] == hold_id)
    return key, world.calendar.events[key]


def test_cycle_finds_planted_drift_and_places_holds(make_world: Callable[..., World]) -> None:
    world = make_world(hold_rules())
    report = world.engine.run_once()
    assert report.analysis.drifting == [("Legal", "Sales")]
    assert report.place.placed, "holds are placed in invite mode"
    for record in report.place.placed:
        assert set(record.departments) == {"Legal", "Sales"}
    assert len(holds(world)) == len(report.place.placed)
    # the lapsed tie inside the drifting seam comes first
    reasons = {r.reason for r in report.place.placed}
    assert "reconnect" in reasons


def test_running_twice_places_nothing_new(make_world: Callable[..., World]) -> None:
    world = make_world(hold_rules())
    first = world.engine.run_once()
    before = holds(world)
    second = world.engine.run_once()
    assert holds(world) == before
    assert second.place.placed == []
    assert second.sync.new == 0
    world.restart()
    world.engine.run_once()
    assert holds(world) == before
    assert first.digests_sent > 0 and world.engine.run_once().digests_sent == 0


class Crash(Exception):
    pass


def test_crash_between_record_and_place_is_finished_not_duplicated(
    make_world: Callable[..., World], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(hold_rules())
    real_place = world.calendar.place
    calls = {"n": 0}

    def flaky_place(hold: Hold) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash("power cut")
        real_place(hold)

    monkeypatch.setattr(world.calendar, "place", flaky_place)
    with pytest.raises(Crash):
        world.engine.run_once()
    assert len(holds(world)) == 1
    # the whole plan was recorded before the first hold: everything after the cut waits
    waiting = [r for r in world.store.suggestions() if r.status is Stage.PLANNED]
    assert len(waiting) >= 1
    monkeypatch.setattr(world.calendar, "place", real_place)
    world.restart()
    report = world.engine.run_once()
    assert report.place.resumed == len(waiting)
    ids = [key[1] for key in holds(world)]
    assert len(ids) == len(set(ids))
    assert len(ids) == len([r for r in world.store.suggestions() if r.status is Stage.HELD])


def test_crash_after_place_before_record_does_not_duplicate(
    make_world: Callable[..., World], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(hold_rules())
    store = world.store
    real_save = store.save_suggestion

    def crash_on_placed(record):  # type: ignore[no-untyped-def]
        if record.status is Stage.HELD:
            raise Crash("killed after the calendar call")
        real_save(record)

    monkeypatch.setattr(store, "save_suggestion", crash_on_placed)
    with pytest.raises(Crash):
        world.engine.run_once()
    monkeypatch.setattr(store, "save_suggestion", real_save)
    world.restart()
    world.engine.run_once()
    placed = [r for r in world.store.suggestions() if r.status is Stage.HELD]
    assert len(holds(world)) == len(placed)


def test_declined_hold_is_released(make_world: Callable[..., World]) -> None:
    world = make_world(hold_rules())
    report = world.engine.run_once()
    record = report.place.placed[0]
    key, event = event_of(world, record.id)
    other = next(a for a in event.attendees if a != event.owner)
    event.responses[other] = Response.DECLINED
    world.clock.now += dt.timedelta(hours=1)
    outcome = world.engine.upkeep()
    assert outcome.outcomes.get("declined") == 1
    assert key not in world.calendar.events
    assert {r.id: r.status for r in world.store.suggestions()}[record.id] is Stage.DECLINED


def test_accepted_hold_counts_as_met_once_it_happened(make_world: Callable[..., World]) -> None:
    world = make_world(hold_rules())
    report = world.engine.run_once()
    record = report.place.placed[0]
    _key, event = event_of(world, record.id)
    for a in event.attendees:
        event.responses[a] = Response.ACCEPTED
    world.clock.now = event.end + dt.timedelta(minutes=5)
    world.engine.upkeep()
    assert {r.id: r.status for r in world.store.suggestions()}[record.id] is Stage.MET


def test_opt_out_releases_holds_within_one_cycle(make_world: Callable[..., World]) -> None:
    world = make_world(hold_rules())
    report = world.engine.run_once()
    record = report.place.placed[0]
    person = record.people[0]
    world.store.add_opt_out(person)
    world.clock.now += dt.timedelta(hours=1)
    world.engine.run_once()
    statuses = {r.id: r.status for r in world.store.suggestions()}
    assert statuses[record.id] is Stage.CANCELLED
    assert all(k[1] != record.id for k in world.calendar.events)


def test_conflict_moves_the_hold(make_world: Callable[..., World]) -> None:
    world = make_world(hold_rules())
    report = world.engine.run_once()
    record = report.place.placed[0]
    key, event = event_of(world, record.id)
    world.calendar.add_foreign_event(event.owner, "their-own-meeting", event.start, event.end)
    world.engine.upkeep()
    moved = world.calendar.events[key]
    assert moved.start != event.start
    assert world.calendar.events[(event.owner, "their-own-meeting")].start == event.start


def test_foreign_event_with_same_id_is_never_touched(make_world: Callable[..., World]) -> None:
    world = make_world(hold_rules())
    report = world.engine.run_once()
    record = report.place.placed[0]
    key, event = event_of(world, record.id)
    event.mark = None  # someone replaced our event with their own under the same id
    event.responses[next(a for a in event.attendees if a != event.owner)] = Response.DECLINED
    other = report.place.placed[1]
    other_key = next(k for k in world.calendar.events if k[1] == other.id)
    other_event = world.calendar.events[other_key]
    other_event.responses[next(a for a in other_event.attendees if a != other_event.owner)] = \
        Response.DECLINED
    outcome = world.engine.upkeep()
    assert key in world.calendar.events  # not ours any more: untouched
    assert other_key not in world.calendar.events  # and the next hold was still looked after
    assert outcome.outcomes["not-ours"] == 1 and outcome.outcomes["declined"] == 1
    statuses = {r.id: r.status for r in world.store.suggestions()}
    assert statuses[record.id] is Stage.CANCELLED and statuses[other.id] is Stage.DECLINED


def test_a_past_meeting_is_not_deleted_when_someone_opts_out(make_world: Callable[..., World]) -> None:
    world = make_world(hold_rules())
    report = world.engine.run_once()
    record = report.place.placed[0]
    key, event = event_of(world, record.id)
    for a in event.attendees:
        event.responses[a] = Response.ACCEPTED
    world.clock.now = event.end + dt.timedelta(hours=1)
    world.store.add_opt_out(record.people[1])
    world.engine.upkeep()
    assert key in world.calendar.events
    assert {r.id: r.status for r in world.store.suggestions()}[record.id] is Stage.MET


def test_a_person_leaving_takes_the_future_hold_off_the_calendar(make_world: Callable[..., World]) -> None:
    world = make_world(hold_rules())
    report = world.engine.run_once()
    record = report.place.placed[0]
    key = next(k for k in world.calendar.events if k[1] == record.id)
    leaver = world.engine.org().by_pseudonym[record.people[1]]
    directory = world.connectors.directory
    directory._people.pop(leaver)  # type: ignore[attr-defined]
    world.engine.upkeep()
    assert key not in world.calendar.events
    assert {r.id: r.status for r in world.store.suggestions()}[record.id] is Stage.CANCELLED


def test_suggest_mode_touches_no_calendar(make_world: Callable[..., World]) -> None:
    world = make_world(Rules())
    report = world.engine.run_once()
    assert report.place.suggested and not report.place.placed
    assert world.calendar.events == {}
    assert world.calendar.calls.get("place", 0) == 0


def test_no_drift_no_suggestions(make_world: Callable[..., World]) -> None:
    from tests.core.synth import make_org

    world = make_world(hold_rules(), make_org(drift=None))
    report = world.engine.run_once()
    assert report.analysis.drifting == []
    assert report.place.placed == []


def test_mail_to_the_opt_out_address_opts_the_sender_out(make_world: Callable[..., World]) -> None:
    from connectors.base import Interaction, InteractionKind

    world = make_world(hold_rules())
    world.engine.opt_out_address = "stop@bridgework.example"
    report = world.engine.run_once()
    record = report.place.placed[0]
    email = world.engine.org().by_pseudonym[record.people[1]]
    world.connectors.mail.add(Interaction(  # type: ignore[union-attr]
        "<stop-1@example.org>", InteractionKind.EMAIL, world.clock.now,
        (email, "stop@bridgework.example"), 1))
    world.clock.now += dt.timedelta(hours=1)
    again = world.engine.run_once()
    assert again.sync.opt_outs == [email]
    assert {r.id: r.status for r in world.store.suggestions()}[record.id] is Stage.CANCELLED
    assert email in again.excluded and again.excluded[email] == "opted out"


def test_cli_opt_out_and_in_work_while_the_store_is_busy(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from agent.cli import main
    from agent.pseudonym import Pseudonymiser
    from agent.store import TinyStore, lock_store

    monkeypatch.setenv("BRIDGEWORK_SECRET_KEY", "cli-opt-out-key-0123456789")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "people.csv").write_text("email,department\na@x.org,Legal\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"source:\n  type: files\n  path: {tmp_path / 'data'}\nstore:\n  path: {tmp_path / 's'}\n")
    with lock_store(tmp_path / "s"):  # as if the daemon were running
        out = CliRunner().invoke(main, ["opt-out", "A@x.org", "--config", str(cfg)])
    assert out.exit_code == 0, out.output
    assert b"a@x.org" not in (tmp_path / "s" / "opt-outs.inbox").read_bytes()
    ran = CliRunner().invoke(main, ["run", "--once", "--config", str(cfg)])  # the next cycle
    assert ran.exit_code == 0, ran.output
    pseudonym = Pseudonymiser(b"cli-opt-out-key-0123456789").person("a@x.org")
    assert TinyStore(tmp_path / "s").opt_outs() == {pseudonym}
    assert b"a@x.org" not in (tmp_path / "s" / "state.json").read_bytes()
    CliRunner().invoke(main, ["opt-in", "a@x.org", "--config", str(cfg)])
    CliRunner().invoke(main, ["run", "--once", "--config", str(cfg)])
    assert TinyStore(tmp_path / "s").opt_outs() == set()
    bad = CliRunner().invoke(main, ["opt-out", "nobody", "--config", str(cfg)])
    assert bad.exit_code == 2 and "not an e-mail address" in bad.output

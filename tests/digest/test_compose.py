"""Digests: once a week per recipient, no figure about fewer than min_group_size people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from rules.model import Rules
from tests.core.conftest import World
from tests.core.conftest import make_world as make_world  # the fixture, shared with core
from tests.core.synth import make_org


def rules(min_group_size: int = 5) -> Rules:
    return Rules.model_validate({"meetings": {"mode": "invite"},
                                 "privacy": {"min_group_size": min_group_size},
                                 "digests": {"admins": ["admin@example.org"]}})


def test_each_recipient_gets_one_digest_a_week(make_world: Callable[..., World]) -> None:
    world = make_world(rules())
    world.engine.run_once()
    world.engine.run_once()
    keys = [m.key for m in world.sender.sent]
    assert len(keys) == len(set(keys))
    assert any(k.startswith("admin/") for k in keys)
    assert any(k.startswith("person/") for k in keys)
    assert any(k.startswith("manager/") for k in keys)
    world.clock.now += dt.timedelta(days=7)
    before = len(world.sender.sent)
    world.engine.digests()
    assert len(world.sender.sent) > before  # a new week, new digests


def test_person_digest_lists_their_hold_in_their_zone(make_world: Callable[..., World]) -> None:
    world = make_world(rules())
    report = world.engine.run_once()
    record = report.place.placed[0]
    email = world.engine.org().by_pseudonym[record.people[0]]
    person = world.engine.org().people[email]
    digest = next(m for m in world.sender.sent if m.key.startswith("person/") and m.to == email)
    city = person.timezone.rsplit("/", 1)[-1].replace("_", " ")
    assert f"times are in {city} time" in digest.text
    assert digest.html and "<html" in digest.html


def test_small_teams_and_departments_get_no_figures(make_world: Callable[..., World]) -> None:
    # Eight people a department, a manager with 7 reports: with min_group_size 9 nothing is shown.
    world = make_world(rules(min_group_size=9), make_org(per_dept=8))
    world.engine.run_once()
    managers = [m for m in world.sender.sent if m.key.startswith("manager/")]
    assert managers and all("groups of 9 or more" in m.text for m in managers)
    admin = next(m for m in world.sender.sent if m.key.startswith("admin/"))
    seams = admin.text.split("BY SEAM", 1)[1].split("Key of the heatmap", 1)[0]
    assert "%" not in seams and "withheld" in seams


def test_large_enough_groups_are_shown(make_world: Callable[..., World]) -> None:
    world = make_world(rules(min_group_size=5), make_org(per_dept=8))
    world.engine.run_once()
    manager = next(m for m in world.sender.sent if m.key.startswith("manager/"))
    assert "h a week" in manager.text
    admin = next(m for m in world.sender.sent if m.key.startswith("admin/"))
    assert "Legal / Sales" in admin.text and "DRIFTING" in admin.text


def test_opted_out_people_get_no_digest(make_world: Callable[..., World]) -> None:
    world = make_world(rules())
    org = world.engine.org()
    target = "legal1@example.org"
    world.store.add_opt_out(org.pseudonym[target])
    world.engine.run_once()
    assert all(m.to != target for m in world.sender.sent if m.key.startswith("person/"))


def test_admin_digest_reports_the_placebo_check_on_this_organisation(
        make_world: Callable[..., World]) -> None:
    world = make_world(rules(), make_org(per_dept=8))
    report = world.engine.run_once()
    calibration = report.analysis.calibration
    assert calibration is not None
    admin = next(m for m in world.sender.sent if m.key.startswith("admin/"))
    figure = f"{calibration.flags_per_run:.2f} false flags per run over {calibration.runs} runs"
    assert figure in admin.text
    assert admin.html is not None and f"{calibration.flags_per_run:.2f}</b> false flags" in admin.html
    assert "Not measured yet" not in admin.text


def test_admin_digest_shows_real_shares_and_names_what_each_change_measures(
        make_world: Callable[..., World]) -> None:
    """The share column is the seam's share of both departments' contact, whichever signal
    decided; the change beside it says which measure it is of."""
    from agent.digest.render import share
    from agent.drift import SIGNAL_LABELS

    world = make_world(rules(min_group_size=5), make_org(per_dept=8))
    report = world.engine.run_once()
    admin = next(m for m in world.sender.sent if m.key.startswith("admin/"))
    lines = [line for line in admin.text.splitlines() if line.startswith("- ") and " -> " in line]
    assert lines
    for seam in report.analysis.seams:
        name = " / ".join(seam.departments)
        [line] = [line for line in lines if line.startswith(f"- {name}: ")]
        assert (f"{share(seam.volume_baseline_share)} -> {share(seam.volume_recent_share)} "
                f"({SIGNAL_LABELS[seam.signal]} ") in line
        assert f"{share(seam.volume_baseline_share)} → {share(seam.volume_recent_share)}" in (
            admin.html or "")

"""The admin digest shows acceptance and met rates by seam and by reason, small groups withheld."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from connectors.base import Response
from rules.model import Rules
from tests.core.conftest import World


def rules(min_group_size: int) -> Rules:
    return Rules.model_validate({"meetings": {"mode": "invite"},
                                 "pairing": {"per_seam_per_week": 5},
                                 "privacy": {"min_group_size": min_group_size},
                                 "digests": {"admins": ["admin@example.org"]}})


def _admin_text(world: World) -> str:
    world.engine.digests_enabled = False  # this week's digest once the holds are met
    report = world.engine.run_once()
    events = {id_: ev for (_, id_), ev in world.calendar.events.items()}
    for record in report.place.placed[:3]:
        event = events[record.id]
        for a in event.attendees:
            event.responses[a] = Response.ACCEPTED
    world.clock.now = max(ev.end for ev in events.values()) + dt.timedelta(hours=1)
    world.engine.upkeep()
    world.engine.digests(force=True)
    admin = next(m for m in world.sender.sent if m.key.startswith("admin/"))
    return admin.text.split("ACCEPTANCE AND MET RATES", 1)[1].split("FAIRNESS OF ASKS", 1)[0]


def test_rates_by_seam_and_reason(make_world: Callable[..., World]) -> None:
    section = _admin_text(make_world(rules(min_group_size=2)))
    assert "- Legal / Sales: 5 held, 60 % accepted, 60 % met" in section
    assert "lapsed tie" in section
    assert "Renewed ties (pairs who met through a hold): 3" in section


def test_rates_about_few_people_are_withheld(make_world: Callable[..., World]) -> None:
    section = _admin_text(make_world(rules(min_group_size=11)))
    assert "%" not in section
    assert "withheld (fewer than 11 people)" in section
    assert "Renewed ties (pairs who met through a hold): withheld" in section

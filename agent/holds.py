"""Turning suggestions into tentative holds, and looking after them afterwards.

Pure decisions live here; the pipeline carries them out. A hold's id comes
from the pseudonyms of its people and the week it was suggested, so the same
suggestion always names the same calendar event however often a cycle runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from agent.matcher import Suggestion
from agent.slots import Slot
from connectors.base import Busy, Hold, HoldState, Response, hold_id_for
from rules.model import Meetings

#: Unconfirmed holds are released this long before they start.
CONFIRM_BY = dt.timedelta(hours=2)


def suggestion_id(pseudonyms: Sequence[str], week: int) -> str:
    return hold_id_for("bridgework-v1", *sorted(pseudonyms), str(week))


def render_text(template: str, suggestion: Suggestion, rules: Meetings) -> str:
    a, b = suggestion.people[0], suggestion.people[-1]
    prompts = "\n".join(f"- {p}" for p in rules.prompts)
    return template.format(
        a_first=a.first_name, b_first=b.first_name, a_name=a.name or a.first_name,
        b_name=b.name or b.first_name, a_department=a.department, b_department=b.department,
        prompts=prompts,
    )


def build_hold(suggestion: Suggestion, slot: Slot, rules: Meetings, hold_id: str) -> Hold:
    people = suggestion.people
    if suggestion.reason == "peer-circle":
        title = "Peer circle: " + ", ".join(p.first_name for p in people)
    else:
        title = render_text(rules.title, suggestion, rules)
    return Hold(
        id=hold_id,
        organizer=people[0].email,
        attendees=tuple(p.email for p in people),
        start=slot.start,
        end=slot.end,
        title=title,
        description=render_text(rules.agenda, suggestion, rules),
        mode=rules.mode,
        video=rules.video,
        timezone=people[0].timezone,
    )


class Upkeep(StrEnum):
    KEEP = "keep"
    GONE = "gone"  # someone deleted or cancelled it: record, touch nothing
    DECLINED = "declined"  # release it
    STALE = "stale"  # never confirmed, about to start: release it
    MET = "met"
    MISSED = "missed"
    MOVE = "move"


@dataclass(frozen=True)
class UpkeepDecision:
    action: Upkeep
    why: str


def confirmed(hold: Hold, state: HoldState) -> bool:
    """Did everyone say yes?

    In hold mode only the organiser's calendar has the event; it becomes a
    meeting when the organiser invites the other person and they accept, so
    the same test applies: an untouched hold is never counted as met.
    """
    return all(state.responses.get(e) is Response.ACCEPTED for e in hold.attendees)


def without_hold(spans: list[Busy], start: dt.datetime, end: dt.datetime) -> list[Busy]:
    """A person's busy spans minus the one the hold itself causes."""
    out, skipped = [], False
    for span in spans:
        if not skipped and span.start == start and span.end == end:
            skipped = True
            continue
        out.append(span)
    return out


def conflicts(busy: dict[str, list[Busy]], start: dt.datetime, end: dt.datetime) -> bool:
    """Does anything besides the hold now overlap it, for any of its people?"""
    return any(
        span.start < end and span.end > start
        for spans in busy.values()
        for span in without_hold(spans, start, end)
    )


def decide(hold: Hold, state: HoldState, now: dt.datetime, has_conflict: bool) -> UpkeepDecision:
    if not state.exists or state.cancelled:
        return UpkeepDecision(Upkeep.GONE, "the event was deleted or cancelled on the calendar")
    declined = [e for e, r in state.responses.items() if r is Response.DECLINED]
    if declined:
        return UpkeepDecision(Upkeep.DECLINED, "declined")
    end = state.end or hold.end
    start = state.start or hold.start
    if end <= now:
        if confirmed(hold, state):
            return UpkeepDecision(Upkeep.MET, "accepted and its time has passed")
        return UpkeepDecision(Upkeep.MISSED, "its time passed without acceptance")
    if start - now <= CONFIRM_BY and not confirmed(hold, state):
        return UpkeepDecision(Upkeep.STALE, "not confirmed shortly before it starts")
    if has_conflict and not confirmed(hold, state):
        return UpkeepDecision(Upkeep.MOVE, "another meeting now overlaps it")
    return UpkeepDecision(Upkeep.KEEP, "waiting")

"""Turning suggestions into tentative holds, and looking after them afterwards.

Pure decisions live here; the pipeline carries them out. A hold's id comes
from the pseudonyms of its people and the week it was suggested, so the same
suggestion always names the same calendar event however often a cycle runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from agent.lifecycle import MAY_BE_ON_CALENDAR, Cause
from agent.matcher import Suggestion
from agent.slots import Slot
from agent.store import SuggestionRecord
from connectors.base import (
    Busy,
    Hold,
    HoldState,
    Interaction,
    InteractionKind,
    Response,
    hold_id_for,
)
from rules.model import Meetings

#: A hold is never moved this close to its start: people may have planned around it.
MOVE_NOTICE = dt.timedelta(hours=24)
#: A circle meets when this many of its members accept, and is released below it.
CIRCLE_QUORUM = 3


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
    ACCEPT = "accepted"  # record it: enough people said yes
    MEMBER_DECLINED = "member-declined"  # record it: a circle goes on without them
    RESCHEDULED = "rescheduled"  # follow the time its people gave the accepted meeting
    GONE = "gone"  # someone deleted or cancelled it: record, touch nothing
    DECLINED = "declined"  # release it
    EXPIRE = "expired"  # nobody answered in time: release it
    MET = "met"
    MISSED = "missed"
    MOVE = "move"


@dataclass(frozen=True)
class UpkeepDecision:
    action: Upkeep
    cause: Cause
    by: tuple[str, ...] = ()  # e-mails of who caused it


def quorum(hold: Hold) -> int:
    """How many yeses make the meeting: everyone in a pair, a few in a circle."""
    return len(hold.attendees) if len(hold.attendees) <= 2 else CIRCLE_QUORUM


def said(state: HoldState, hold: Hold, response: Response) -> list[str]:
    return [e for e in hold.attendees if state.responses.get(e) is response]


def confirmed(hold: Hold, state: HoldState) -> bool:
    """Did enough people say yes (a pair: both; a circle: its quorum)?

    In hold mode only the organiser's calendar has the event; it becomes a
    meeting when the organiser invites the other person and they accept, so
    the same test applies: an untouched hold is never counted as met.
    """
    return len(said(state, hold, Response.ACCEPTED)) >= quorum(hold)


def others_accepted(hold: Hold, state: HoldState) -> bool:
    """Has anyone besides the organiser said yes? Then the time is theirs: never moved."""
    return any(e != hold.organizer for e in said(state, hold, Response.ACCEPTED))


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


def decide(hold: Hold, state: HoldState, now: dt.datetime, has_conflict: bool,
           rules: Meetings, accepted_before: bool, declined_before: Collection[str] = ()
           ) -> UpkeepDecision:
    """What to do with one hold now, from what the calendar says about it.

    ``accepted_before``: the record already reached ``accepted``;
    ``declined_before``: members whose decline is already recorded.
    """
    if not state.exists or state.cancelled:
        return UpkeepDecision(Upkeep.GONE, Cause.DELETED)
    declined = said(state, hold, Response.DECLINED)
    if declined and len(hold.attendees) - len(declined) < quorum(hold):
        return UpkeepDecision(Upkeep.DECLINED, Cause.DECLINED, tuple(declined))
    fresh = tuple(e for e in declined if e not in declined_before)
    if fresh:  # a circle member: recorded, and the circle goes on
        return UpkeepDecision(Upkeep.MEMBER_DECLINED, Cause.MEMBER_DECLINED, fresh)
    start, end = state.start or hold.start, state.end or hold.end
    yes = confirmed(hold, state)
    if end <= now:
        if yes:
            return UpkeepDecision(Upkeep.MET, Cause.HAPPENED)
        return UpkeepDecision(Upkeep.MISSED, Cause.NOT_ACCEPTED)
    if start <= now:
        return UpkeepDecision(Upkeep.KEEP, Cause.PLACED)  # under way
    if not yes and start - now <= rules.release_unanswered:
        return UpkeepDecision(Upkeep.EXPIRE, Cause.UNANSWERED)
    if yes and not accepted_before:
        return UpkeepDecision(Upkeep.ACCEPT, Cause.ACCEPTED)
    if yes and (start, end) != (hold.start, hold.end):
        return UpkeepDecision(Upkeep.RESCHEDULED, Cause.RESCHEDULED)
    if has_conflict and not others_accepted(hold, state) and start - now > MOVE_NOTICE:
        return UpkeepDecision(Upkeep.MOVE, Cause.CONFLICT)
    return UpkeepDecision(Upkeep.KEEP, Cause.PLACED)


def met_interaction_id(hold_id: str) -> str:
    """The id a met hold enters the ledger under: the same every time, so it counts once."""
    return f"bridgework-hold/{hold_id}"


def met_meeting(hold: Hold, state: HoldState) -> Interaction:
    """A met hold as the meeting the ledger counts: its time as the calendar has it, and
    the people who accepted."""
    start, end = state.start or hold.start, state.end or hold.end
    present = tuple(said(state, hold, Response.ACCEPTED))
    return Interaction(met_interaction_id(hold.id), InteractionKind.MEETING, start, present,
                       len(hold.attendees), end - start)


class HoldEchoes:
    """Our holds as a calendar gives them back when it is read.

    A met hold enters the ledger through upkeep, once; the copy of the same
    event a sync reads (Google, Graph and CalDAV list our events like any
    other) is skipped, or the meeting would count twice.
    """

    def __init__(self, holds: Iterable[tuple[dt.datetime, Collection[str]]] = ()) -> None:
        self._by_start: dict[int, list[frozenset[str]]] = {}
        for start, people in holds:
            self._by_start.setdefault(int(start.timestamp()), []).append(frozenset(people))

    def __bool__(self) -> bool:
        return bool(self._by_start)

    def is_echo(self, item: Interaction) -> bool:
        if item.kind is not InteractionKind.MEETING or not item.participants:
            return False
        present = set(item.participants)
        return any(present <= people for people in self._by_start.get(int(item.start.timestamp()), ()))

    def drop(self, interactions: Sequence[Interaction]) -> Sequence[Interaction]:
        if not self._by_start:
            return interactions
        return [i for i in interactions if not self.is_echo(i)]


def echoes_of(records: Iterable[SuggestionRecord], by_pseudonym: Mapping[str, str]) -> HoldEchoes:
    """The holds of ``records`` that may be on a calendar now, by time and people."""
    holds = []
    for record in records:
        if record.status not in MAY_BE_ON_CALENDAR or record.start is None:
            continue
        people = [by_pseudonym[p] for p in record.people if p in by_pseudonym]
        holds.append((dt.datetime.fromisoformat(record.start), people))
    return HoldEchoes(holds)

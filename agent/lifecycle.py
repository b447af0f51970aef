"""A hold's life, from suggestion to meeting: its stages, why it moved between them, and
what the outcomes add up to.

Pure: records in, records or figures out. Every change of stage is kept on the
record as a :class:`Transition` (when, which stage, the cause as an enum, who
caused it when one person did), so ``bridgework holds explain`` can tell a
hold's whole story and the learning rules can read who declined what.

::

    suggested ─▶ planned ─▶ held ─┬─▶ accepted ─┬─▶ met
                                  ├─▶ moved ────┤   missed
                                  ├─▶ declined  │
                                  ├─▶ expired   │
                                  └─▶ cancelled ◀┘

A stage may also "move" to itself: a circle member declining while the
circle goes on, a meeting its people rescheduled, a hold moved again, and the
uninstall noting that a finished hold's event was removed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Stage(StrEnum):
    SUGGESTED = "suggested"  # in the digest only (suggest mode), or matched before a slot was chosen
    PLANNED = "planned"  # recorded with its slot; the calendar is written next
    HELD = "held"  # on the calendar, waiting for answers
    MOVED = "moved"  # on the calendar at a new time after a clash, waiting for answers
    ACCEPTED = "accepted"  # everyone (a circle: enough of them) said yes
    DECLINED = "declined"
    EXPIRED = "expired"  # nobody answered in time, or its time came before it was placed
    CANCELLED = "cancelled"
    MET = "met"
    MISSED = "missed"


class Cause(StrEnum):
    MATCHED = "matched"  # the weekly plan chose these people
    SLOT_FOUND = "slot-found"  # and a time all of them can make
    PLACED = "placed"  # the event is on the calendar
    ACCEPTED = "accepted"
    DECLINED = "declined"  # ``by`` names who
    MEMBER_DECLINED = "member-declined"  # a circle member declined; the circle goes on
    CONFLICT = "conflict"  # a new busy event overlapped it, so it moved
    NO_SLOT = "no-slot"  # it clashed and no other time was free: released
    UNANSWERED = "unanswered"  # released a configured time before it started
    NOT_PLACED_IN_TIME = "not-placed-in-time"
    RESCHEDULED = "rescheduled"  # its people gave the accepted meeting another time
    DELETED = "deleted"  # someone deleted or cancelled the event on the calendar
    MARK_LOST = "mark-lost"  # the event no longer carries our mark: it is left alone
    PERSON_LEFT = "person-left"
    EXCLUDED = "excluded"  # opted out, or left out by the rules
    RELEASED = "released"  # an admin released it (``holds release ID``)
    UNINSTALL = "uninstall"  # ``holds release --all``: its event is off every calendar
    HAPPENED = "happened"  # its time passed, accepted, and the calendar still shows it
    NOT_ACCEPTED = "not-accepted"  # its time passed without enough yeses
    MIGRATED = "migrated"  # a record written before transitions were kept


#: Stages whose hold Bridgework still looks after (upkeep reads the calendar for them).
LOOKED_AFTER = frozenset({Stage.HELD, Stage.MOVED, Stage.ACCEPTED})
#: Stages whose event may be on a calendar right now.
MAY_BE_ON_CALENDAR = frozenset({Stage.PLANNED, *LOOKED_AFTER, Stage.MET, Stage.MISSED})
FINAL = frozenset({Stage.DECLINED, Stage.EXPIRED, Stage.CANCELLED, Stage.MET, Stage.MISSED})
#: Causes after which none of our events for the record is left on a calendar.
OFF_CALENDAR = frozenset({Cause.DECLINED, Cause.UNANSWERED, Cause.NO_SLOT, Cause.EXCLUDED,
                          Cause.PERSON_LEFT, Cause.RELEASED, Cause.UNINSTALL,
                          Cause.NOT_PLACED_IN_TIME})

_OPEN_NEXT = frozenset({Stage.MOVED, Stage.ACCEPTED, Stage.DECLINED, Stage.EXPIRED,
                        Stage.CANCELLED, Stage.MET, Stage.MISSED})
ALLOWED: Mapping[Stage, frozenset[Stage]] = {
    Stage.SUGGESTED: frozenset({Stage.PLANNED}),
    Stage.PLANNED: frozenset({Stage.HELD, Stage.EXPIRED, Stage.CANCELLED}),
    Stage.HELD: _OPEN_NEXT | {Stage.HELD},
    Stage.MOVED: _OPEN_NEXT,
    Stage.ACCEPTED: frozenset({Stage.ACCEPTED, Stage.DECLINED, Stage.CANCELLED, Stage.MET,
                               Stage.MISSED}),
    **{stage: frozenset({stage}) for stage in FINAL},  # the uninstall notes removed events
}


@dataclass(frozen=True)
class Transition:
    stage: Stage  # the stage entered
    at: str  # ISO time
    cause: Cause
    by: tuple[str, ...] = ()  # pseudonyms of the people who caused it, when people did
    start: str | None = None  # the slot, when this transition set or changed it
    end: str | None = None

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"stage": self.stage.value, "at": self.at,
                                  "cause": self.cause.value}
        if self.by:
            out["by"] = list(self.by)
        if self.start:
            out["start"], out["end"] = self.start, self.end
        return out


def check_transition(current: Stage, new: Stage, cause: Cause) -> None:
    """Refuse a change of stage the lifecycle does not have (a bug, not bad input).

    :raises ValueError: ``current`` cannot become ``new``.
    """
    if new not in ALLOWED[current]:
        raise ValueError(f"a {current.value} hold cannot become {new.value} ({cause.value})")
    if new is current and new in FINAL and cause not in (Cause.UNINSTALL, Cause.RELEASED):
        raise ValueError(f"a {current.value} hold only notes its event's removal, not {cause.value}")


# --- reading records ------------------------------------------------------------------------


class _HasLife(Protocol):
    """What this module reads of a record (``agent.store.SuggestionRecord``)."""

    @property
    def people(self) -> tuple[str, ...]: ...
    @property
    def departments(self) -> tuple[str, ...]: ...
    @property
    def reason(self) -> str: ...
    @property
    def status(self) -> Stage: ...
    @property
    def transitions(self) -> tuple[Transition, ...]: ...


def reached(record: _HasLife, stage: Stage) -> bool:
    """Did the record ever enter ``stage``?"""
    return record.status is stage or any(t.stage is stage for t in record.transitions)


def entered_at(record: _HasLife, stage: Stage) -> dt.datetime | None:
    """When the record first entered ``stage``."""
    for t in record.transitions:
        if t.stage is stage:
            return dt.datetime.fromisoformat(t.at)
    return None


def declines(record: _HasLife) -> dict[str, dt.datetime]:
    """Who declined this hold (pseudonyms), and when."""
    out: dict[str, dt.datetime] = {}
    for t in record.transitions:
        if t.cause in (Cause.DECLINED, Cause.MEMBER_DECLINED):
            for who in t.by:
                out.setdefault(who, dt.datetime.fromisoformat(t.at))
    return out


def member_stage(record: _HasLife, pseudonym: str) -> Stage:
    """One person's own stage in a hold: a circle goes on when one member declines."""
    if pseudonym in declines(record):
        return Stage.DECLINED
    return record.status


def removed_from_calendars(record: _HasLife) -> bool:
    """Does the record say its event is off every calendar (released by us, or never placed)?"""
    if not reached(record, Stage.HELD):
        return record.status is not Stage.PLANNED
    return any(t.cause in OFF_CALENDAR for t in record.transitions)


# --- what the outcomes add up to -------------------------------------------------------------

#: The labels rates are given by, for each way a hold comes about.
DRIFTING_SEAM, LAPSED_TIE, PEER, CIRCLE = "drifting seam", "lapsed tie", "peer", "circle"
REASONS = (DRIFTING_SEAM, LAPSED_TIE, PEER, CIRCLE)


def reason_label(reason: str, levels: Sequence[int | None]) -> str:
    """Why a hold was made, as rates are grouped: a lapsed tie renewed, a peer circle,
    two people of one level (peers) across a drifting seam, or any pair across one."""
    if reason == "peer-circle":
        return CIRCLE
    if reason == "reconnect":
        return LAPSED_TIE
    if len(levels) == 2 and levels[0] is not None and levels[0] == levels[1]:
        return PEER
    return DRIFTING_SEAM


def seam_label(record: _HasLife) -> str:
    if record.reason == "peer-circle":
        return "peer circles"
    return " / ".join(sorted(set(record.departments)))


@dataclass(frozen=True)
class Rate:
    """Outcomes of the holds in one group; rates are of holds that were on a calendar."""

    group: str
    held: int
    accepted: int
    met: int
    declined: int
    expired: int
    people: int  # distinct people behind the figures
    withheld: bool = False  # fewer than the rules' min_group_size people: shown as None

    @property
    def acceptance(self) -> float | None:
        return None if self.withheld or not self.held else self.accepted / self.held

    @property
    def met_rate(self) -> float | None:
        return None if self.withheld or not self.held else self.met / self.held

    def as_json(self) -> dict[str, object]:
        if self.withheld:
            return {"group": self.group, "withheld": True}
        return {"group": self.group, "held": self.held, "accepted": self.accepted,
                "met": self.met, "declined": self.declined, "expired": self.expired,
                "acceptance": _rounded(self.acceptance), "met_rate": _rounded(self.met_rate)}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass(frozen=True)
class OutcomeRates:
    by_seam: list[Rate]
    by_reason: list[Rate]
    renewed_ties: int | None  # distinct pairs who met through a hold (None: withheld)

    def as_json(self) -> dict[str, object]:
        return {"by_seam": [r.as_json() for r in self.by_seam],
                "by_reason": [r.as_json() for r in self.by_reason],
                "renewed_ties": self.renewed_ties}


def outcome_rates(records: Iterable[_HasLife], levels: Callable[[str], int | None],
                  min_group_size: int = 1) -> OutcomeRates:
    """Acceptance and met rates by seam and by reason, over the holds that reached a calendar.

    ``levels`` gives a pseudonym's level (None when unknown or gone). A group whose
    figures stand for fewer than ``min_group_size`` people is withheld, never rounded.
    """
    groups: dict[tuple[str, str], list[_HasLife]] = defaultdict(list)
    renewed: set[frozenset[str]] = set()
    for record in records:
        if not reached(record, Stage.HELD):
            continue
        label = reason_label(record.reason, [levels(p) for p in record.people])
        groups[("seam", seam_label(record))].append(record)
        groups[("reason", label)].append(record)
        if reached(record, Stage.MET) and record.reason != "peer-circle":
            renewed.add(frozenset(record.people))

    def rate(group: str, members: list[_HasLife]) -> Rate:
        people = {p for r in members for p in r.people}
        return Rate(
            group=group,
            held=len(members),
            accepted=sum(reached(r, Stage.ACCEPTED) or reached(r, Stage.MET) for r in members),
            met=sum(reached(r, Stage.MET) for r in members),
            declined=sum(r.status is Stage.DECLINED for r in members),
            expired=sum(r.status in (Stage.EXPIRED, Stage.MISSED) for r in members),
            people=len(people),
            withheld=len(people) < min_group_size,
        )

    by_seam = sorted((rate(name, m) for (kind, name), m in groups.items() if kind == "seam"),
                     key=lambda r: r.group)
    by_reason = [rate(name, groups[("reason", name)]) for name in REASONS
                 if ("reason", name) in groups]
    renewed_people = {p for pair in renewed for p in pair}
    shown = len(renewed) if not renewed or len(renewed_people) >= min_group_size else None
    return OutcomeRates(by_seam, by_reason, shown)


#: What each cause means, as ``holds explain`` and the digests say it.
CAUSE_TEXT: Mapping[Cause, str] = {
    Cause.MATCHED: "the weekly plan chose these people",
    Cause.SLOT_FOUND: "a time all of them can make was found and recorded",
    Cause.PLACED: "put on the calendar",
    Cause.ACCEPTED: "accepted",
    Cause.DECLINED: "declined",
    Cause.MEMBER_DECLINED: "a member declined; the circle goes on",
    Cause.CONFLICT: "another meeting came to overlap it, so it moved to the next good time",
    Cause.NO_SLOT: "another meeting came to overlap it and no other time was free: released",
    Cause.UNANSWERED: "not answered in time: released before it started",
    Cause.NOT_PLACED_IN_TIME: "its time came before it could be placed",
    Cause.RESCHEDULED: "its people gave the meeting another time",
    Cause.DELETED: "deleted or cancelled on the calendar",
    Cause.MARK_LOST: "the event lost Bridgework's mark: it is left alone",
    Cause.PERSON_LEFT: "someone in it left the directory",
    Cause.EXCLUDED: "someone in it opted out or is left out by the rules",
    Cause.RELEASED: "released by an admin",
    Cause.UNINSTALL: "released by the uninstall: no longer on any calendar",
    Cause.HAPPENED: "its time passed, accepted, and the calendar still showed it",
    Cause.NOT_ACCEPTED: "its time passed without enough acceptances",
    Cause.MIGRATED: "recorded before transitions were kept",
}

"""Who may take part in suggestions, and if not, the rule that says so.

Pure: a person, the rules and the opt-outs in, a reason (or None) out, so
the matcher and ``rules explain`` give the same answer.

A pause ("not now", asked by mail to ``digest.pause_address``) is the one
exclusion that ends by itself, ``pairing.pause_weeks`` after it was asked,
and the one that keeps what the person already accepted: upkeep releases
their unanswered holds only (:func:`is_pause`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping

from connectors.base import Person
from rules.model import Participants


def managers_of(people: Iterable[Person]) -> set[str]:
    return {p.manager for p in people if p.manager}


#: How every pause reason begins (``rules explain`` and ``status`` show the whole reason).
_PAUSED = "paused until "


def active_pauses(asked: Mapping[str, dt.datetime], weeks: int,
                  now: dt.datetime) -> dict[str, dt.datetime]:
    """Who is paused at ``now`` and until when, from when each asked (a later ask restarts it)."""
    span = dt.timedelta(weeks=weeks)
    return {who: when + span for who, when in asked.items() if when <= now < when + span}


def pause_reason(until: dt.datetime) -> str:
    return f"{_PAUSED}{until:%Y-%m-%d} (asked for a pause: not now)"


def is_pause(reason: str | None) -> bool:
    """Is this exclusion a pause, which keeps accepted conversations?"""
    return reason is not None and reason.startswith(_PAUSED)


def exclusion_reason(
    person: Person,
    rules: Participants,
    opted_out: Collection[str],
    managers: Collection[str],
    paused: Mapping[str, dt.datetime] | None = None,
) -> str | None:
    """Why ``person`` is left out of suggestions, or None when they take part.

    ``paused`` maps e-mails to the end of their pause; a rule that leaves someone
    out outweighs a pause (it does not end by itself).
    """
    reason = _left_out(person, rules, opted_out, managers)
    if reason is None and paused and person.email in paused:
        return pause_reason(paused[person.email])
    return reason


def _left_out(person: Person, rules: Participants, opted_out: Collection[str],
              managers: Collection[str]) -> str | None:
    email = person.email
    if email in opted_out or email in {e.lower() for e in rules.opt_out}:
        return "opted out"
    if email in {e.lower() for e in rules.exclude_people}:
        return "listed in participants.exclude_people"
    if email in {e.lower() for e in rules.include_people}:
        return None
    if rules.include_departments and person.department not in rules.include_departments:
        return f"department {person.department} is not in participants.include_departments"
    if person.department in rules.exclude_departments:
        return f"department {person.department} is in participants.exclude_departments"
    if rules.include_levels and person.level not in rules.include_levels:
        return f"level {person.level} is not in participants.include_levels"
    if person.level is not None and person.level in rules.exclude_levels:
        return f"level {person.level} is in participants.exclude_levels"
    for pattern in rules.exclude_titles:
        if person.title and re.search(pattern, person.title, re.IGNORECASE):
            return f"title {person.title!r} matches participants.exclude_titles {pattern!r}"
    if rules.managers_only and email not in managers:
        return "participants.managers_only is set and they manage nobody"
    return None

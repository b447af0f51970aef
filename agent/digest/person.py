"""The person digest: one's own contact against one's own usual, and what is placed for them.

It speaks to the reader alone: their own figures, their own conversations,
their own lapsed ties, never anyone else's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import quote

from agent.digest.charts import Bar, week_bars
from agent.digest.inputs import DigestInput
from agent.digest.names import Names, day, local, when, zone_label
from connectors.base import Person

#: States in which a conversation is still ahead of the person.
_AHEAD = ("planned", "placed", "held", "accepted", "moved", "suggested")
#: Ties worth renewing shown at most.
TIES = 3


@dataclass(frozen=True)
class Conversation:
    with_names: str  # e.g. "Ben Okafor (Sales, Account lead)"
    departments: str
    when: str | None
    why: list[str]
    how: str  # where it stands and what to do
    organizer: bool


@dataclass(frozen=True)
class Tie:
    name: str
    department: str


@dataclass(frozen=True)
class Link:
    address: str
    href: str


@dataclass(frozen=True)
class Links:
    not_now: Link | None
    opt_out: Link | None


@dataclass
class PersonView:
    person: Person
    department: str
    week: str
    zone: str
    lately: float | None = None
    usual: float | None = None
    breadth: int | None = None
    breadth_usual: int | None = None
    change: int | None = None
    bars: list[Bar] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    met_lately: int = 0
    ties: list[Tie] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    links: Links = Links(None, None)
    invitation: str = ""
    paused_until: str | None = None  # the reader asked "not now": the day new asks start again


def _mailto(address: str | None, subject: str) -> Link | None:
    # The address alone does the work (no subject or body is ever read); the subject only
    # helps the reader see what the mail is for.
    return Link(address, f"mailto:{address}?subject={quote(subject)}") if address else None


def _why(reason: str, me: Person, others: list[Person], departments: tuple[str, ...],
         drifting: set[frozenset[str]]) -> list[str]:
    out = []
    if reason == "reconnect":
        out.append("You two used to be in touch regularly and have not been lately.")
    elif reason == "peer-circle":
        out.append("A peer circle: people at your level from different departments, to trade notes.")
    if frozenset(departments) in drifting and len(set(departments)) == 2:
        a, b = departments
        out.append(f"{a} and {b} have drifted apart these weeks; conversations like this "
                   "keep the two connected.")
    if reason != "peer-circle" and others and me.level is not None and \
            all(o.level == me.level for o in others):
        out.append("A peer at your level, so you can talk as equals.")
    if not out:
        out.append("Someone worth knowing in a department you rarely meet.")
    return out


def _how(status: str, mode: str, organizer: bool, other: str) -> str:
    if status == "suggested" or mode == "suggest":
        return "Only a suggestion: nothing is in your calendar. Book it if you like the idea."
    if status == "accepted":
        return "Accepted: it is in your calendar."
    if mode == "invite":
        return "A tentative invitation is in your calendar: accept or decline it there."
    if organizer:
        return (f"A tentative hold is in your calendar: invite {other} if the time works, "
                "or decline it.")
    return f"{other} has a tentative hold for this and may invite you."


def _invitation(change: int | None) -> str:
    if change is None:
        return "Bridgework is still learning your usual; these conversations are a good start."
    if change <= -15:
        return ("A quieter stretch than your usual with other departments, which happens. "
                "The conversations below are an easy way back in.")
    if change >= 15:
        return "More contact with other departments than your usual. If you have room, here is more."
    return "About your usual with other departments. Here is what Bridgework found for you."


def person_view(person: Person, data: DigestInput, names: Names, week: str) -> PersonView | None:
    """Only people with something to act on get one."""
    now = data.moment
    drifting = {frozenset(s.departments) for s in data.seams if s.drifting}
    mode = data.rules.meetings.mode.value
    conversations: list[Conversation] = []
    met = 0
    earliest = (now - dt.timedelta(days=7)).isoformat()
    pause_end = data.paused.get(person.email)
    for record, emails in sorted(data.records, key=lambda r: r[0].start or r[0].created):
        if person.email not in emails:
            continue
        status = str(record.status)
        if status == "met" and (record.updated or record.created) >= earliest:
            met += 1
        if status not in _AHEAD or (record.start is not None and record.start < now.isoformat()):
            continue
        if status != "accepted" and any(e in data.paused for e in emails):
            continue  # a pause keeps only what was accepted; the rest is released for everyone
        others = [data.people[e] for e in emails if e != person.email and e in data.people]
        if not others:
            continue
        start = dt.datetime.fromisoformat(record.start) if record.start else None
        organizer = emails[0] == person.email
        first_other = names.short(others[0]) if len(others) == 1 else "the others"
        conversations.append(Conversation(
            ", ".join(f"{names.full(o)} ({o.department}{', ' + o.title if o.title else ''})"
                      for o in others),
            " and ".join(dict.fromkeys(record.departments)),
            when(start, person.timezone) if start else None,
            _why(record.reason, person, others, record.departments, drifting),
            _how(status, str(record.mode or mode), organizer, first_other),
            organizer,
        ))
    ties = []
    for a, b, _ in sorted(data.lapsed, key=lambda t: -t[2]):
        other = b if a == person.email else a if b == person.email else None
        if other and other in data.people:
            ties.append(Tie(names.full(data.people[other]), data.people[other].department))
    if not conversations and not ties[:TIES]:
        return None
    view = PersonView(person, person.department, week,
                      zone_label(now, person.timezone), conversations=conversations, met_lately=met,
                      ties=ties[:TIES], prompts=list(data.rules.meetings.prompts)[:3])
    trend = data.trends.get(person.email)
    if trend is not None:
        view.lately, view.usual = trend.cross_recent, trend.cross_baseline
        view.breadth, view.breadth_usual = trend.breadth_recent, round(trend.breadth_baseline)
        if trend.cross_baseline > 0:
            view.change = round((trend.cross_recent / trend.cross_baseline - 1) * 100)
    if data.contact is not None:
        view.bars = week_bars(data.contact.weeks, data.contact.of(person.email),
                              data.contact.recent_weeks, view.usual)
    view.invitation = _invitation(view.change)
    if pause_end is not None:
        view.paused_until = day(local(pause_end, person.timezone).date())
    view.links = Links(None if pause_end else _mailto(data.pause_address, "Not now, thanks"),
                       _mailto(data.opt_out_address, "Opt me out of Bridgework"))
    return view

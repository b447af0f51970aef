"""A bursty synthetic organisation for judging detection, independent of ``connectors/demo.py``.

The demo generator flatters a detector tuned on it; this one is written
separately, from a different picture of how contact happens:

- mail comes in threads whose length is heavy-tailed (a discrete Pareto
  with exponent 1.25, capped at 400), so a few threads carry most messages;
- cross-department projects of 4-14 people last 3-16 weeks, with a weekly
  meeting and their own threads, so a seam's contact has multi-week bursts;
- one-off meetings, weekly team meetings, fortnightly 1:1s, monthly
  department meetings, and all-hands meetings and broadcast mail that the
  counting rules ignore;
- org-wide holiday weeks (year end, spring, summer), a seasonal swing of
  +/- 18 %, personal vacations, and a slowly wandering activity level per
  department;
- the year position of ``as_of`` depends on the seed, so holidays fall in
  the recent window for some seeds and the baseline for others.

What can be planted (``plant=True``), drawn with its own random stream so an
unplanted organisation is the same organisation, message for message:

- ``declining`` seams whose contact falls by ``drop`` (60 %) along a linear
  ramp of ``ramp_weeks`` (8) weeks: each thread or meeting across the seam
  loses the people of one side with the ramp's probability (``planting="whole"``:
  is not held at all, taking its contact with anyone else along). The ramp ends
  0-3 weeks (per seam, at random) before the last analysed week, ``settled``
  (0) weeks earlier still, and stays at its full drop after that.
- ``thinning`` seams ("same people, fewer messages"): messages and meeting
  attendance across the seam fall by ``thin`` (70 %) along the same kind of
  ramp, but every pair of people who would have been in contact that week
  keeps at least one message, so the seam's distinct ties stay the same
  (``thin_meetings=False``: the messages alone, the meetings as they were).

The planted seams are drawn among the pairs with at least median contact
(counted the way the ledger counts it): a seam that barely exists cannot
show a 60 % fall.

The organisation goes to Bridgework either as a data directory (``write``:
people.csv, messages.jsonl, events.jsonl as DESIGN.md describes) or straight
into a ledger (``interactions``), both through the real counting rules.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from connectors.base import Interaction, InteractionKind, Person
from rules.model import Signals

DOMAIN = "bursty.example"
EXTERNAL = ("x@partner.example", "y@client.example", "z@vendor.example")
# how a planted ramp removes contact: "side" takes one department's people out of the
# seam's threads and meetings, which go on without them; "whole" drops those threads and
# meetings altogether, with whatever contact they gave anyone else (bench --planting)
PLANTINGS = ("side", "whole")
BROADCAST = Signals().broadcast_size  # the counting rules' default: larger events give nothing

# name, share of people
DEPARTMENTS: tuple[tuple[str, float], ...] = (
    ("Engineering", 0.24), ("Sales", 0.16), ("Support", 0.12), ("Product", 0.10),
    ("Marketing", 0.09), ("Operations", 0.08), ("Finance", 0.07), ("Data", 0.06),
    ("People", 0.05), ("Legal", 0.03),
)
# what a generator adds when asked for more departments than its own list (bench
# --departments): each about as large as the smaller departments of the lists
EXTRA_DEPARTMENTS = ("Design", "Security", "Facilities", "Partners", "Procurement", "Quality",
                     "Training", "Logistics", "Compliance", "Strategy")
EXTRA_SHARE = 0.04


def department_list(own: tuple[tuple[str, float], ...],
                    count: int | None) -> tuple[tuple[str, float], ...]:
    """``own`` (name, share of people, largest first) cut to its ``count`` largest or
    extended from EXTRA_DEPARTMENTS, the shares scaled to sum to one; ``own`` itself when
    ``count`` is None, so the default organisation stays the same one."""
    if count is None:
        return own
    most = len(own) + len(EXTRA_DEPARTMENTS)
    if not 2 <= count <= most:
        raise ValueError(f"departments must be between 2 and {most}, not {count}")
    extra = [(name, EXTRA_SHARE) for name in EXTRA_DEPARTMENTS[:max(0, count - len(own))]]
    chosen = [*own[:count], *extra]
    total = sum(share for _, share in chosen)
    return tuple((name, share / total) for name, share in chosen)


PARETO_ALPHA = 1.25  # thread length tail: smaller is heavier
THREAD_CAP = 400
INTERNAL_SHARE = 0.72  # of a person's contacts, in their own department


@dataclass(frozen=True, slots=True)
class Mail:
    id: str
    group: str  # the thread
    week: int
    when: dt.datetime
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc


@dataclass(frozen=True, slots=True)
class Meeting:
    id: str
    group: str  # the project, team or person that holds it
    week: int
    when: dt.datetime
    minutes: int
    organizer: str
    attendees: tuple[str, ...]  # invitees, the organizer not repeated
    declined: frozenset[str] = frozenset()
    cancelled: bool = False

    @property
    def present(self) -> tuple[str, ...]:
        return (self.organizer, *(a for a in self.attendees if a not in self.declined))


@dataclass(frozen=True)
class Truth:
    as_of: dt.date
    weeks: int
    declining: list[tuple[str, str]]
    thinning: list[tuple[str, str]]
    eligible: list[tuple[str, str]]  # pairs the planted seams were drawn from
    ramp_end: dict[str, int]  # "A / B" -> the week index the ramp reaches its full drop

    def as_json(self) -> dict[str, object]:
        return {"as_of": self.as_of.isoformat(), "weeks": self.weeks,
                "declining": [list(p) for p in self.declining],
                "thinning": [list(p) for p in self.thinning],
                "eligible": [list(p) for p in self.eligible], "ramp_end": self.ramp_end}


@dataclass
class BurstyOrg:
    people: list[Person]
    mails: list[Mail]
    meetings: list[Meeting]
    truth: Truth

    @property
    def planted(self) -> set[frozenset[str]]:
        return {frozenset(p) for p in self.truth.declining + self.truth.thinning}

    def interactions(self) -> Iterator[Interaction]:
        """What a connector would yield: decliners left out, the full audience as size."""
        email, meeting = InteractionKind.EMAIL, InteractionKind.MEETING
        for m in self.mails:
            recipients = dict.fromkeys(m.recipients)
            size = len(recipients)
            recipients.pop(m.sender, None)
            yield Interaction(m.id, email, m.when, (m.sender, *recipients), size)
        for e in self.meetings:
            yield Interaction(e.id, meeting, e.when, tuple(dict.fromkeys(e.present)),
                              len(e.attendees) + 1, dt.timedelta(minutes=e.minutes), e.cancelled)

    def write(self, out: Path) -> None:
        """The organisation as a data directory (DESIGN.md's format) plus truth.json."""
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "people.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["email", "name", "department", "title", "level", "manager", "timezone"])
            for p in self.people:
                writer.writerow([p.email, p.name, p.department, p.title, p.level or "",
                                 p.manager or "", p.timezone])
        with open(out / "messages.jsonl", "w") as handle:
            for m in self.mails:
                handle.write(json.dumps({"id": m.id, "date": m.when.isoformat(), "from": m.sender,
                                         "to": list(m.to), "cc": list(m.cc)}) + "\n")
        with open(out / "events.jsonl", "w") as handle:
            for e in self.meetings:
                responses = {a: ("declined" if a in e.declined else "accepted") for a in e.attendees}
                handle.write(json.dumps({
                    "id": e.id, "start": e.when.isoformat(),
                    "end": (e.when + dt.timedelta(minutes=e.minutes)).isoformat(),
                    "organizer": e.organizer, "attendees": list(e.attendees),
                    "responses": responses,
                    "status": "cancelled" if e.cancelled else "confirmed"}) + "\n")
        (out / "truth.json").write_text(json.dumps(self.truth.as_json(), indent=1))


def default_as_of(seed: int) -> dt.date:
    """A Monday whose place in the year depends on the seed (holidays move around)."""
    return dt.date(2025, 1, 6) + dt.timedelta(weeks=(seed * 11) % 52)


def generate(seed: int, *, people: int = 1000, weeks: int = 40, plant: bool = True,
             declining: int = 4, thinning: int = 1, drop: float = 0.6, thin: float = 0.7,
             ramp_weeks: int = 8, settled: int = 0, planting: str = "side",
             departments: int | None = None, as_of: dt.date | None = None,
             thin_meetings: bool = True) -> BurstyOrg:
    """One organisation; the same arguments give the same organisation."""
    base = _Generator(seed, people, weeks, as_of or default_as_of(seed), departments).run()
    plan = _Planting(base, seed, declining if plant else 0, thinning if plant else 0, drop, thin,
                     ramp_weeks, settled, planting, thin_meetings)
    return plan.apply()


def generate_both(seed: int, *, people: int = 1000, weeks: int = 40, declining: int = 4,
                  thinning: int = 1, drop: float = 0.6, thin: float = 0.7, ramp_weeks: int = 8,
                  settled: int = 0, planting: str = "side", departments: int | None = None,
                  as_of: dt.date | None = None,
                  thin_meetings: bool = True) -> tuple[BurstyOrg, BurstyOrg]:
    """``generate(seed, ...)`` planted and unplanted, building the organisation once."""
    base = _Generator(seed, people, weeks, as_of or default_as_of(seed), departments).run()
    return (_Planting(base, seed, declining, thinning, drop, thin, ramp_weeks, settled,
                      planting, thin_meetings).apply(),
            _Planting(base, seed, 0, 0, drop, thin, ramp_weeks, settled, planting).apply())


# --------------------------------------------------------------------------- generation


@dataclass
class _Base:
    people: list[Person]
    dept: np.ndarray
    names: list[str]
    mails: list[Mail]
    meetings: list[Meeting]
    weeks: int
    as_of: dt.date
    initiator: dict[str, str] = field(default_factory=dict)  # group -> who started it


class _Generator:
    def __init__(self, seed: int, n: int, weeks: int, as_of: dt.date,
                 departments: int | None = None) -> None:
        self.layout = department_list(DEPARTMENTS, departments)
        self.rng = np.random.default_rng([seed, 1])
        self.n, self.weeks, self.as_of = n, weeks, as_of
        self.first_day = as_of - dt.timedelta(weeks=weeks)
        self.mails: list[Mail] = []
        self.meetings: list[Meeting] = []
        self.initiator: dict[str, str] = {}
        self._ids = 0

    # --- the organisation --------------------------------------------------------------
    def run(self) -> _Base:
        self._people()
        self._network()
        self._calendar()
        for week in range(self.weeks):
            self._week(week)
        people = [Person(email=self.email[i], department=self.names[self.dept[i]],
                         name=f"Person {i}", title=self.title[i], level=int(self.level[i]),
                         manager=self.manager[i], timezone="UTC") for i in range(self.n)]
        return _Base(people, self.dept, self.names, self.mails, self.meetings, self.weeks,
                     self.as_of, self.initiator)

    def _people(self) -> None:
        rng, n = self.rng, self.n
        shares = np.array([s for _, s in self.layout])
        sizes = np.maximum(5, np.round(shares / shares.sum() * n)).astype(int)
        sizes[0] += n - sizes.sum()
        self.names = [name for name, _ in self.layout]
        self.dept = np.repeat(np.arange(len(sizes)), sizes)
        self.email = [f"p{i:05d}@{DOMAIN}" for i in range(n)]
        self.members = [np.flatnonzero(self.dept == d) for d in range(len(sizes))]
        self.level = rng.integers(1, 4, n)
        self.title = ["Specialist"] * n
        self.manager: list[str | None] = [None] * n
        self.teams: list[np.ndarray] = []
        for people in self.members:
            head = people[0]
            self.level[head], self.title[head] = 5, "Head"
            rest = people[1:]
            start = 0
            while start < rest.size:
                size = int(rng.integers(5, 10))
                team = rest[start:start + size]
                start += size
                lead = team[0]
                self.level[lead], self.title[lead] = 4, "Manager"
                self.manager[lead] = self.email[head]
                for member in team[1:]:
                    self.manager[member] = self.email[lead]
                self.teams.append(team)
        self.team_of = np.zeros(n, int)
        for t, team in enumerate(self.teams):
            self.team_of[team] = t
        self.rate = rng.gamma(2.0, 0.5, n)  # how much each person writes and meets

    def _network(self) -> None:
        """Each person's contacts with a strength; a quarter across departments."""
        rng, n = self.rng, self.n
        n_dept = len(self.members)
        affinity = rng.lognormal(0.0, 0.9, (n_dept, n_dept))
        affinity = (affinity + affinity.T) / 2
        np.fill_diagonal(affinity, 0.0)
        self.affinity = affinity
        sizes = np.array([m.size for m in self.members], float)
        links: list[dict[int, float]] = [{} for _ in range(n)]
        for i in range(n):
            k = 6 + int(rng.negative_binomial(2, 2 / (2 + 8)))
            d = int(self.dept[i])
            cross_p = affinity[d] * sizes
            cross_p /= cross_p.sum()
            for _ in range(k):
                if rng.random() < INTERNAL_SHARE:
                    pool = self.teams[self.team_of[i]] if rng.random() < 0.45 else self.members[d]
                else:
                    pool = self.members[int(rng.choice(n_dept, p=cross_p))]
                j = int(pool[rng.integers(pool.size)])
                if j != i:
                    strength = float(rng.lognormal(0.0, 0.9))
                    links[i][j] = links[i].get(j, 0.0) + strength
                    links[j][i] = links[j].get(i, 0.0) + strength
        self.contacts = [np.array(list(c), int) for c in links]
        self.strength = [np.array(list(c.values())) / sum(c.values()) for c in links]

    def _calendar(self) -> None:
        """Org-wide activity per week (season, holidays), vacations, department moods."""
        rng, weeks = self.rng, self.weeks
        self.week_start = [dt.datetime.combine(self.first_day + dt.timedelta(weeks=w), dt.time(),
                                               tzinfo=dt.UTC) for w in range(weeks)]
        woy = np.array([d.isocalendar()[1] for d in self.week_start])
        season = 1 + 0.18 * np.sin(2 * math.pi * woy / 52 + 1.3)
        holiday = np.ones(weeks)
        for w, k in enumerate(woy):
            holiday[w] = {52: 0.3, 53: 0.3, 1: 0.45, 14: 0.75, 31: 0.8, 32: 0.75, 33: 0.8}.get(int(k), 1.0)
        self.activity = season * holiday
        # vacations: about 2.5 blocks of 1-2 weeks a year, more in summer and at the year end
        pull = np.where(np.isin(woy, [27, 28, 29, 30, 31, 32, 33, 34, 51, 52, 1]), 3.0, 1.0)
        pull /= pull.sum()
        self.away = np.zeros((self.n, weeks), bool)
        for i in range(self.n):
            for _ in range(int(rng.poisson(2.5 * weeks / 52))):
                w = int(rng.choice(weeks, p=pull))
                self.away[i, w:w + int(rng.integers(1, 3))] = True
        n_dept = len(self.members)
        mood = np.zeros((n_dept, weeks))
        level = rng.normal(0, 0.19, n_dept)
        for w in range(weeks):
            level = 0.85 * level + rng.normal(0, 0.1, n_dept)
            mood[:, w] = level
        self.mood = np.exp(mood)
        self.projects: list[tuple[np.ndarray, int, int, float]] = []  # members, first, last, pace

    # --- one week ----------------------------------------------------------------------
    def _week(self, w: int) -> None:
        rng = self.rng
        act = self.activity[w]
        here = ~self.away[:, w]
        pace = self.rate * act * self.mood[self.dept, w] * here
        for i in np.flatnonzero(rng.poisson(0.9 * pace) > 0):
            for _ in range(int(rng.poisson(0.9 * pace[i])) + 1):
                self._thread(w, int(i), self._pick_contacts(int(i), here))
        for i in np.flatnonzero(rng.random(self.n) < 1 - np.exp(-0.35 * pace)):
            self._one_off(w, int(i), here)
        self._routine(w, here)
        self._projects(w, here)
        if w % 4 == 1:  # all-hands: everyone invited, far above the broadcast size
            organizer = self.email[0]
            self._meeting(w, "allhands", organizer, [e for e in self.email if e != organizer],
                          60, day=3, hour=16)
        for _ in range(3):  # announcement mail to a large list
            sender = int(rng.integers(self.n))
            largest = min(self.n, 300)
            audience = rng.choice(self.n, int(rng.integers(min(BROADCAST + 5, largest - 1),
                                                           largest)), replace=False)
            self._mail(w, f"bcast-{self._next()}", self.email[sender],
                       [self.email[int(a)] for a in audience if a != sender])

    def _pick_contacts(self, i: int, here: np.ndarray, most: int = 6) -> list[int]:
        rng = self.rng
        extra = min(most - 1, int(rng.geometric(0.6)))
        chosen: list[int] = []
        contacts = self.contacts[i]
        for _ in range(extra):
            if contacts.size and rng.random() < 0.85:
                j = int(contacts[rng.choice(contacts.size, p=self.strength[i])])
            else:
                j = int(rng.integers(self.n))
            if j != i and j not in chosen and here[j]:
                chosen.append(j)
        return chosen

    def _next(self) -> int:
        self._ids += 1
        return self._ids

    def _when(self, w: int, day: int | None = None, hour: int | None = None) -> dt.datetime:
        rng = self.rng
        day = int(rng.integers(0, 5)) if day is None else day
        hour = int(rng.integers(8, 18)) if hour is None else hour
        return self.week_start[w] + dt.timedelta(days=day, hours=hour,
                                                 minutes=int(rng.integers(0, 60)))

    def _mail(self, w: int, group: str, sender: str, to: list[str], cc: list[str] | None = None,
              when: dt.datetime | None = None) -> None:
        self.mails.append(Mail(f"m{self._next()}", group, w, when or self._when(w), sender,
                               tuple(to), tuple(cc or ())))

    def _thread(self, w: int, starter: int, others: list[int]) -> None:
        """A thread of heavy-tailed length among the starter and others, over 1-3 weeks."""
        if not others:
            return
        rng = self.rng
        group = f"t{self._next()}"
        self.initiator[group] = self.email[starter]
        members = [starter, *others]
        length = min(THREAD_CAP, int(rng.random() ** (-1 / PARETO_ALPHA)))
        span = 1 + (length >= 10) + (length >= 100)
        external = rng.random() < 0.1
        for week in np.sort(rng.integers(w, min(self.weeks, w + span), length)):
            week = int(week)
            sender = starter if rng.random() < 0.4 else members[int(rng.integers(len(members)))]
            if self.away[sender, week]:
                continue
            rest = [m for m in members if m != sender and not self.away[m, week]]
            if not rest:
                continue
            if rng.random() >= 0.6:
                rest = [rest[int(rng.integers(len(rest)))]]
            self._mail(week, group, self.email[sender], [self.email[r] for r in rest],
                       [EXTERNAL[int(rng.integers(len(EXTERNAL)))]] if external else None)

    def _meeting(self, w: int, group: str, organizer: str, invitees: list[str], minutes: int,
                 day: int | None = None, hour: int | None = None, decline: float = 0.0,
                 cancel: float = 0.0) -> None:
        rng = self.rng
        if not invitees:
            return
        declined = frozenset(a for a in invitees if decline and rng.random() < decline)
        self.meetings.append(Meeting(f"e{self._next()}", group, w, self._when(w, day, hour),
                                     minutes, organizer, tuple(invitees), declined,
                                     bool(cancel and rng.random() < cancel)))

    def _one_off(self, w: int, i: int, here: np.ndarray) -> None:
        others = self._pick_contacts(i, here, most=7)
        if not others:
            return
        group = f"o{self._next()}"
        self.initiator[group] = self.email[i]
        minutes = int(self.rng.choice([30, 30, 45, 60, 60, 90]))
        self._meeting(w, group, self.email[i], [self.email[j] for j in others], minutes,
                      decline=0.1, cancel=0.03)

    def _routine(self, w: int, here: np.ndarray) -> None:
        """Team meetings weekly, 1:1s fortnightly, department meetings monthly."""
        rng = self.rng
        quiet = self.activity[w] < 0.6
        for t, team in enumerate(self.teams):
            lead = int(team[0])
            present = [int(m) for m in team[1:] if here[m]]
            if here[lead] and present and not quiet and rng.random() < 0.9:
                self._meeting(w, f"team{t}", self.email[lead], [self.email[m] for m in present],
                              45, day=0, hour=9, decline=0.05)
            for m in present:
                if (m + w) % 2 == 0 and here[lead] and rng.random() < 0.85:
                    self._meeting(w, f"1on1-{m}", self.email[lead], [self.email[m]], 30)
        if w % 4 == 2:
            for people in self.members:
                head = int(people[0])
                self._meeting(w, f"dept{head}", self.email[head],
                              [self.email[int(p)] for p in people[1:]], 60, day=2, hour=15,
                              decline=0.15)

    def _projects(self, w: int, here: np.ndarray) -> None:
        """Cross-department projects: a weekly meeting and threads while they last."""
        rng = self.rng
        n_dept = len(self.members)
        sizes = np.array([m.size for m in self.members], float)
        for _ in range(int(rng.poisson(self.n / 200 * self.activity[w]))):
            lead = int(rng.choice(n_dept, p=sizes / sizes.sum()))
            partner_p = self.affinity[lead] * sizes
            partners = rng.choice(n_dept, size=int(rng.integers(1, 3)), replace=False,
                                  p=partner_p / partner_p.sum())
            people = [rng.choice(self.members[lead], min(self.members[lead].size,
                                                         int(rng.integers(2, 6))), replace=False)]
            for d in partners:
                people.append(rng.choice(self.members[d], min(self.members[d].size,
                                                              int(rng.integers(1, 5))), replace=False))
            team = np.unique(np.concatenate(people))
            self.projects.append((team, w, w + int(rng.integers(3, 17)), float(rng.lognormal(0, 0.6))))
        for k, (team, first, last, pace) in enumerate(self.projects):
            if not first <= w < last:
                continue
            present = [int(m) for m in team if here[m]]
            if len(present) < 2:
                continue
            group = f"p{k}"
            self.initiator.setdefault(group, self.email[int(team[0])])
            if rng.random() < 0.85:
                self._meeting(w, group, self.email[present[0]],
                              [self.email[m] for m in present[1:]], 60, decline=0.08)
            for _ in range(int(rng.poisson(1.5 * pace * self.activity[w]))):
                starter = present[int(rng.integers(len(present)))]
                others = [m for m in present if m != starter]
                pick = rng.choice(len(others), min(len(others), int(rng.integers(1, 5))),
                                  replace=False)
                self._thread(w, starter, [others[int(j)] for j in pick])


# --------------------------------------------------------------------------- planting


def _pairs_of(item: Mail | Meeting) -> list[tuple[str, str]]:
    """The person pairs an item gives contact to under the counting rules (ours only)."""
    if isinstance(item, Mail):
        size = len(set(item.recipients))
        if size > BROADCAST:
            return []
        return [(item.sender, r) for r in dict.fromkeys(item.recipients)
                if r != item.sender and r.endswith(DOMAIN)]
    if item.cancelled or len(item.attendees) + 1 > BROADCAST:
        return []
    present = list(dict.fromkeys(item.present))
    return [(a, b) for k, a in enumerate(present) for b in present[k + 1:]]


class _Planting:
    def __init__(self, base: _Base, seed: int, declining: int, thinning: int, drop: float,
                 thin: float, ramp_weeks: int, settled: int, planting: str = "side",
                 thin_meetings: bool = True) -> None:
        if planting not in PLANTINGS:
            raise ValueError(f"planting must be one of {', '.join(PLANTINGS)}, not {planting!r}")
        self.base, self.planting, self.thin_meetings = base, planting, thin_meetings
        self.rng = np.random.default_rng([seed, 2])
        self.dept_of = {p.email: p.department for p in base.people}
        self.drop, self.thin, self.ramp_weeks = drop, thin, ramp_weeks
        self.eligible = self._eligible()
        picks: list[int] = (list(self.rng.choice(len(self.eligible), declining + thinning,
                                                  replace=False)) if declining + thinning else [])
        chosen = [self.eligible[int(k)] for k in picks]
        self.declining, self.thinning = chosen[:declining], chosen[declining:]
        last = base.weeks - 1
        self.ramp_end = {pair: last - settled - int(self.rng.integers(0, 4))
                         for pair in chosen}

    def _eligible(self) -> list[tuple[str, str]]:
        """Department pairs with at least median weekly distinct ties (before planting)."""
        ties: dict[tuple[str, str], set[tuple[int, str, str]]] = defaultdict(set)
        items: list[Mail | Meeting] = [*self.base.mails, *self.base.meetings]
        for item in items:
            for a, b in _pairs_of(item):
                da, db = self.dept_of.get(a), self.dept_of.get(b)
                if da and db and da != db:
                    key = (da, db) if da < db else (db, da)
                    ties[key].add((item.week, min(a, b), max(a, b)))
        names = sorted(self.base.names)
        counts = {(x, y): len(ties.get((x, y), ())) for i, x in enumerate(names) for y in names[i + 1:]}
        median = float(np.median(list(counts.values())))
        return sorted(p for p, c in counts.items() if c >= median)

    def _level(self, pair: tuple[str, str], week: int, full: float) -> float:
        end = self.ramp_end[pair]
        return full * min(1.0, max(0.0, (week - (end - self.ramp_weeks)) / self.ramp_weeks))

    def apply(self) -> BurstyOrg:
        mails, meetings = list(self.base.mails), list(self.base.meetings)
        for pair in self.declining:
            mails, meetings = self._decline(pair, mails, meetings)
        for pair in self.thinning:
            mails, meetings = self._thin(pair, mails, meetings)
        truth = Truth(self.base.as_of, self.base.weeks, self.declining, self.thinning,
                      self.eligible, {" / ".join(p): e for p, e in self.ramp_end.items()})
        return BurstyOrg(self.base.people, mails, meetings, truth)

    def _side(self, item: Mail | Meeting, pair: tuple[str, str]) -> str | None:
        """The department of ``pair`` whose people leave the item, if it crosses the seam."""
        depts = {self.dept_of.get(x) for xy in _pairs_of(item) for x in xy}
        if not set(pair) <= depts:
            return None
        starter = self.base.initiator.get(item.group)
        keep = self.dept_of.get(starter or "")
        return pair[0] if keep == pair[1] else pair[1]

    def _without(self, item: Mail | Meeting, gone: str) -> Mail | Meeting | None:
        """The item without the people of department ``gone`` (None if nothing is left)."""
        if isinstance(item, Mail):
            if self.dept_of.get(item.sender) == gone:
                return None
            to = tuple(r for r in item.to if self.dept_of.get(r) != gone)
            cc = tuple(r for r in item.cc if self.dept_of.get(r) != gone)
            return replace(item, to=to, cc=cc) if to or cc else None
        attendees = tuple(a for a in item.attendees if self.dept_of.get(a) != gone)
        return replace(item, attendees=attendees) if attendees else None

    def _decline(self, pair: tuple[str, str], mails: list[Mail],
                 meetings: list[Meeting]) -> tuple[list[Mail], list[Meeting]]:
        """Threads and meetings across the seam lose one side (``planting="whole"``: are
        not held at all), with the ramp's probability.

        One draw per thread or meeting series, so a thread that lost them stays
        without them as the ramp rises.
        """
        draws: dict[str, float] = {}

        def kept(item: Mail | Meeting) -> Mail | Meeting | None:
            p = self._level(pair, item.week, self.drop)
            if p <= 0:
                return item
            side = self._side(item, pair)
            if side is None:
                return item
            if item.group not in draws:
                draws[item.group] = float(self.rng.random())
            if draws[item.group] >= p:
                return item
            return None if self.planting == "whole" else self._without(item, side)

        return ([m for m in map(kept, mails) if isinstance(m, Mail)],
                [e for e in map(kept, meetings) if isinstance(e, Meeting)])

    def _thin(self, pair: tuple[str, str], mails: list[Mail],
              meetings: list[Meeting]) -> tuple[list[Mail], list[Meeting]]:
        """Fewer messages and meetings across the seam, but every tie of a week keeps one."""
        a_dept, b_dept = pair
        out_mails: list[Mail] = []
        out_meetings: list[Meeting] = []
        before: dict[int, set[tuple[str, str]]] = defaultdict(set)
        after: dict[int, set[tuple[str, str]]] = defaultdict(set)

        def crossing(item: Mail | Meeting) -> set[tuple[str, str]]:
            found = set()
            for x, y in _pairs_of(item):
                dx, dy = self.dept_of.get(x), self.dept_of.get(y)
                if {dx, dy} == {a_dept, b_dept}:
                    found.add((x, y) if dx == a_dept else (y, x))
            return found

        for items, out in ((mails, out_mails), (meetings, out_meetings)):
            if items is meetings and not self.thin_meetings:  # the mail alone thins
                out_meetings.extend(meetings)
                continue
            for item in items:
                cross = crossing(item)
                p = self._level(pair, item.week, self.thin)
                if cross:
                    before[item.week] |= cross
                if cross and p > 0 and self.rng.random() < p:
                    if isinstance(item, Mail):
                        gone = b_dept if self.dept_of.get(item.sender) == a_dept else a_dept
                    else:
                        gone = self._side(item, pair) or b_dept
                    changed = self._without(item, gone)
                    if changed is None:
                        continue
                    item = changed
                    cross = crossing(item)
                after[item.week] |= cross
                out.append(item)  # type: ignore[arg-type]
        for week, pairs in before.items():
            for x, y in sorted(pairs - after[week]):  # a tie that would vanish keeps one message
                when = dt.datetime.combine(self.base.as_of, dt.time(11), tzinfo=dt.UTC) \
                    - dt.timedelta(weeks=self.base.weeks - week) + dt.timedelta(
                        days=int(self.rng.integers(0, 5)))
                out_mails.append(Mail(f"keep-{week}-{x}-{y}", f"keep-{x}-{y}", week, when, x, (y,)))
        return out_mails, out_meetings

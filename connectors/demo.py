"""A synthetic organisation written as a data directory, with planted drift.

The organisation is meant to look like a real one to the analysis, warts
included: departments of very different sizes, a management tree, several
time zones and working patterns, recurring team meetings and 1:1s, standing
cross-department relationships, projects that make a pile of mail and
meetings for a few weeks and then stop, all-hands broadcasts, an org-wide
quiet week or two, personal vacations, declined and cancelled meetings,
external correspondents and random noise.

Weekly contact is bursty (gamma-mixed Poisson counts and project bursts), but
stationary in expectation: without planted drift no seam has a trend. With
``drift=True`` a few department pairs with healthy contact lose most of it in
the last six complete weeks before ``as_of`` (some of their standing ties
lapse entirely), and ``truth.json`` says which; other busy pairs are listed
as stable controls.

Everything is drawn from one seeded generator, so the same arguments give
the same files byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import numpy as np

DEMO_DOMAIN = "demo.example"
EXTERNAL_DOMAINS = ("client-one.example", "partner.example", "vendor.example", "lawfirm.example")
RECENT_WEEKS = 6  # the planted drop fills the analysis' recent window
FUTURE_DAYS = 14  # meetings already on calendars after as_of
TIES_PER_PERSON = 2.5  # standing cross-department relationships, on average
PROJECTS_PER_PERSON = 0.012  # cross-department projects started per person and week

# name, share of people, time zones (first is the head office), always present
_DEPARTMENTS: tuple[tuple[str, float, tuple[str, ...], bool], ...] = (
    ("Engineering", 0.30, ("Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"), True),
    ("Sales", 0.14, ("America/New_York", "Europe/London", "Australia/Sydney"), True),
    ("Customer Success", 0.10, ("America/Chicago", "Europe/London"), False),
    ("Product", 0.09, ("Europe/Berlin", "America/Los_Angeles"), True),
    ("Marketing", 0.08, ("America/New_York", "Europe/London"), True),
    ("Operations", 0.08, ("Europe/London", "Asia/Singapore"), False),
    ("Finance", 0.06, ("Europe/London", "America/New_York"), True),
    ("Design", 0.05, ("Europe/Berlin",), False),
    ("People", 0.05, ("Europe/London",), True),
    ("Legal", 0.03, ("America/New_York",), True),
)

# How much two departments naturally work together (symmetric; default below).
_AFFINITY = {
    ("Engineering", "Product"): 3.0, ("Engineering", "Design"): 1.6,
    ("Product", "Design"): 2.4, ("Sales", "Customer Success"): 2.6,
    ("Sales", "Marketing"): 2.2, ("Product", "Marketing"): 1.5,
    ("Engineering", "Customer Success"): 1.3, ("Engineering", "Operations"): 1.4,
    ("Finance", "Sales"): 1.3, ("Finance", "Legal"): 1.6, ("Legal", "Sales"): 1.4,
    ("Finance", "Operations"): 1.3, ("People", "Engineering"): 0.9,
    ("Product", "Customer Success"): 1.4, ("Marketing", "Design"): 1.2,
}
_DEFAULT_AFFINITY = 0.45

_FIRST = (
    "Ada", "Alan", "Amara", "Ana", "Arjun", "Beatriz", "Ben", "Carla", "Chen", "Chloe", "Dario",
    "Daniel", "Dmitri", "Elena", "Emil", "Esther", "Fatima", "Felix", "Grace", "Hana", "Hugo",
    "Ines", "Ivan", "Jamal", "Jana", "Jonas", "Julia", "Kai", "Kofi", "Lara", "Leo", "Lina",
    "Luca", "Maya", "Mei", "Mateo", "Nadia", "Nils", "Noor", "Olga", "Omar", "Paula", "Priya",
    "Rafael", "Rosa", "Sam", "Sara", "Sofia", "Tariq", "Tom", "Uma", "Vera", "Wei", "Yara",
    "Yusuf", "Zoe", "Marta", "Kenji", "Ayla", "Bruno"
)
_LAST = (
    "Abbott", "Adeyemi", "Alvarez", "Andersen", "Bauer", "Becker", "Bianchi", "Brown", "Castro",
    "Chen", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Gupta", "Hansen", "Haddad",
    "Ito", "Jensen", "Kaur", "Khan", "Kim", "Kowalski", "Larsen", "Lopez", "Martin", "Meyer",
    "Moreau", "Murphy", "Nakamura", "Novak", "Okafor", "Olsen", "Park", "Patel", "Perez",
    "Popescu", "Quinn", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Sato", "Tanaka",
    "Torres", "Varga", "Wagner", "Walsh", "Weber", "Wong", "Yilmaz", "Young", "Zhang",
    "Ziegler", "Nguyen", "Ahmed", "Ibrahim", "Costa"
)
_TITLES = {1: "Associate", 2: "Specialist", 3: "Senior Specialist", 4: "Manager",
           5: "Director", 6: "Vice President"}
# (start minute, end minute, weekdays, label in people.csv, probability)
_HOURS = (
    (9 * 60, 17 * 60, (0, 1, 2, 3, 4), "09:00-17:00", 0.55),
    (8 * 60, 16 * 60, (0, 1, 2, 3, 4), "mon-fri 08:00-16:00", 0.2),
    (10 * 60, 18 * 60, (0, 1, 2, 3, 4), "10:00-18:00", 0.17),
    (8 * 60, 18 * 60, (0, 1, 2, 3), "mon-thu 08:00-18:00", 0.08),
)
_HM = [f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)]


@dataclass(frozen=True)
class Truth:
    """What was planted, for tests and for the demo's own report."""

    as_of: dt.date
    drifting_pairs: list[tuple[str, str]]
    stable_pairs: list[tuple[str, str]]
    lapsed_ties: list[tuple[str, str]]
    seed: int
    people: int
    weeks: int

    def as_json(self) -> dict[str, object]:
        return {"as_of": self.as_of.isoformat(),
                "drifting_pairs": [list(p) for p in self.drifting_pairs],
                "stable_pairs": [list(p) for p in self.stable_pairs],
                "lapsed_ties": [list(t) for t in self.lapsed_ties],
                "seed": self.seed, "people": self.people, "weeks": self.weeks}

    @classmethod
    def load(cls, path: Path) -> Truth:
        data = json.loads(path.read_text())
        return cls(dt.date.fromisoformat(data["as_of"]),
                   [(a, b) for a, b in data["drifting_pairs"]],
                   [(a, b) for a, b in data["stable_pairs"]],
                   [(a, b) for a, b in data["lapsed_ties"]],
                   int(data["seed"]), int(data["people"]), int(data["weeks"]))


# --------------------------------------------------------------------------- the organisation


@dataclass
class _Org:
    departments: list[str]
    emails: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    dept: list[int] = field(default_factory=list)
    level: list[int] = field(default_factory=list)
    manager: list[int] = field(default_factory=list)
    zone: list[int] = field(default_factory=list)
    hours: list[int] = field(default_factory=list)  # index into _HOURS
    teams: list[list[int]] = field(default_factory=list)  # manager first
    zones: list[str] = field(default_factory=list)

    def add(self, name: str, email: str, dept: int, level: int, manager: int, zone: int,
            hours: int) -> int:
        self.names.append(name)
        self.emails.append(email)
        self.dept.append(dept)
        self.level.append(level)
        self.manager.append(manager)
        self.zone.append(zone)
        self.hours.append(hours)
        return len(self.emails) - 1

    def members(self, d: int) -> list[int]:
        return [i for i, x in enumerate(self.dept) if x == d]


def _department_sizes(rng: np.random.Generator, people: int) -> list[tuple[int, int]]:
    """(index into _DEPARTMENTS, size) for 7-10 departments, Engineering largest."""
    optional = [i for i, d in enumerate(_DEPARTMENTS) if not d[3]]
    keep = int(rng.integers(0, len(optional) + 1))
    if people < 60:
        keep = 0
    chosen = sorted([i for i, d in enumerate(_DEPARTMENTS) if d[3]]
                    + list(rng.choice(optional, size=keep, replace=False)))
    weights = np.array([_DEPARTMENTS[i][1] for i in chosen])
    weights *= rng.uniform(0.85, 1.15, size=len(chosen))
    sizes = np.maximum(3, np.floor(weights / weights.sum() * people)).astype(int)
    while sizes.sum() > people:
        sizes[int(np.argmax(sizes))] -= 1
    sizes[0] += people - sizes.sum()  # Engineering absorbs the rest
    return [(c, int(s)) for c, s in zip(chosen, sizes, strict=True)]


class _Names:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def next(self) -> tuple[str, str]:
        first = _FIRST[int(self.rng.integers(len(_FIRST)))]
        last = _LAST[int(self.rng.integers(len(_LAST)))]
        base = f"{first}.{last}".lower()
        email, n = f"{base}@{DEMO_DOMAIN}", 1
        while email in self.used:
            n += 1
            email = f"{base}{n}@{DEMO_DOMAIN}"
        self.used.add(email)
        return f"{first} {last}", email


def _build_org(rng: np.random.Generator, people: int) -> _Org:
    sizes = _department_sizes(rng, people)
    org = _Org([_DEPARTMENTS[c][0] for c, _ in sizes])
    names = _Names(rng)
    hour_p = np.array([h[4] for h in _HOURS])
    hour_p /= hour_p.sum()

    def person(d: int, level: int, manager: int, zone: int) -> int:
        name, email = names.next()
        return org.add(name, email, d, level, manager, zone, int(rng.choice(len(_HOURS), p=hour_p)))

    ceo = -1
    for d, (c, size) in enumerate(sizes):
        zones = _DEPARTMENTS[c][2]
        zone_ids = []
        for z in zones:
            if z not in org.zones:
                org.zones.append(z)
            zone_ids.append(org.zones.index(z))
        head = person(d, 6 if size > 40 or ceo < 0 else 5, ceo, zone_ids[0])
        if ceo < 0:
            ceo = head  # the first head (Engineering) is also the chief executive's seat
        _grow_tree(rng, org, d, head, size - 1, zone_ids, person)
    return org


def _grow_tree(rng: np.random.Generator, org: _Org, d: int, head: int, remaining: int,
               zones: list[int], make: Callable[[int, int, int, int], int]) -> None:
    """Teams of 4-8 under leads, leads under directors when there are many."""
    team_sizes: list[int] = []
    left = remaining
    while left > 0:
        size = min(left, int(rng.integers(5, 10)))  # lead + 4..8 reports
        team_sizes.append(size)
        left -= size
    if len(team_sizes) == 1:
        reports = [make(d, int(rng.integers(1, 4)), head, zones[0]) for _ in range(remaining)]
        org.teams.append([head, *reports])
        return
    directors: list[int] = []
    per_director = 6
    n_directors = math.ceil(len(team_sizes) / per_director) if len(team_sizes) > 7 else 0
    for k in range(n_directors):
        directors.append(make(d, 5, head, zones[k % len(zones)]))
        team_sizes[-1] -= 1
        if team_sizes[-1] <= 0:
            team_sizes.pop()
    leads: list[int] = []
    for t, size in enumerate(team_sizes):
        boss = directors[t // per_director] if directors else head
        zone = zones[int(rng.integers(len(zones)))] if t else zones[0]
        lead = make(d, 4, boss, zone)
        leads.append(lead)
        members = [make(d, int(rng.choice([1, 2, 2, 3, 3])), lead, zone) for _ in range(size - 1)]
        org.teams.append([lead, *members])
    if directors:
        for k, director in enumerate(directors):
            org.teams.append([director, *leads[k * per_director:(k + 1) * per_director]])
        org.teams.append([head, *directors])
    else:
        org.teams.append([head, *leads])


# --------------------------------------------------------------------------- time


class _Clock:
    """Day-indexed calendar arithmetic without datetime objects in the hot loops."""

    def __init__(self, start: dt.date, days: int, zones: Sequence[str]) -> None:
        self.start = start
        self.days = days
        epoch0 = int(dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC).timestamp())
        self.epoch0 = epoch0
        # utc day strings from one day before the start (early Asian mornings)
        self.utc_day = [(start + dt.timedelta(days=k - 1)).isoformat() for k in range(days + 3)]
        self.offset = np.zeros((len(zones), days), dtype=np.int64)
        self.offset_text: list[list[str]] = []
        for z, name in enumerate(zones):
            tz = ZoneInfo(name)
            texts = []
            for k in range(days):
                noon = dt.datetime.combine(start + dt.timedelta(days=k), dt.time(12), tzinfo=tz)
                off = noon.utcoffset() or dt.timedelta()
                self.offset[z, k] = int(off.total_seconds())
                texts.append(noon.isoformat()[19:])
            self.offset_text.append(texts)

    def utc(self, zone: int, day: int, minute: int) -> int:
        """Seconds since the start (UTC midnight) of a local time."""
        return day * 86400 + minute * 60 - int(self.offset[zone, day])

    def utc_text(self, seconds: int) -> str:
        day, rest = divmod(seconds, 86400)
        return f"{self.utc_day[day + 1]}T{_HM[rest // 60]}:{rest % 60:02d}+00:00"

    def local_text(self, zone: int, day: int, minute: int) -> str:
        return f"{self.utc_day[day + 1]}T{_HM[minute]}:00{self.offset_text[zone][day]}"

    def until_text(self, day: int) -> str:
        return (self.start + dt.timedelta(days=day)).strftime("%Y%m%dT000000Z")


# --------------------------------------------------------------------------- the generator


@dataclass
class _Tie:
    a: int
    b: int
    pair: tuple[int, int]
    rate: float  # messages a week
    one_on_one: bool
    lapses: bool = False


@dataclass
class _Project:
    pair: tuple[int, int]
    members: list[int]
    first_week: int
    last_week: int  # inclusive
    intensity: float


class _Writer:
    """Buffered JSON lines; values are plain ASCII so formatting by hand is safe."""

    def __init__(self, f: IO[str]) -> None:
        self.f = f
        self.buf: list[str] = []
        self.count = 0

    def add(self, line: str) -> None:
        self.buf.append(line)
        if len(self.buf) >= 20_000:
            self.flush()

    def flush(self) -> None:
        self.f.write("".join(self.buf))
        self.count += len(self.buf)
        self.buf.clear()


def _quote(values: Sequence[str]) -> str:
    return ",".join(f'"{v}"' for v in values)


class _Generator:
    def __init__(self, out: Path, people: int, weeks: int, seed: int, as_of: dt.date,
                 drift: bool) -> None:
        self.rng = np.random.default_rng(seed)
        self.out, self.seed, self.weeks, self.drift = out, seed, weeks, drift
        self.as_of = as_of
        monday = as_of - dt.timedelta(days=as_of.weekday())
        self.start = monday - dt.timedelta(weeks=weeks)
        self.data_end = (as_of - self.start).days * 86400  # seconds; messages stop here
        self.future_end = self.data_end + FUTURE_DAYS * 86400
        self.total_weeks = weeks + 1 + math.ceil(FUTURE_DAYS / 7) + 1
        self.drift_week = weeks - RECENT_WEEKS
        self.org = _build_org(self.rng, people)
        self.n = len(self.org.emails)
        self.clock = _Clock(self.start, self.total_weeks * 7 + 2, self.org.zones)
        self.by_dept = [np.array(self.org.members(d)) for d in range(len(self.org.departments))]
        self.ids = 0
        self._plan_time()
        self._plan_seams()

    # --- plans ----------------------------------------------------------------
    def _plan_time(self) -> None:
        rng, w = self.rng, self.total_weeks
        self.quiet = np.ones(w)
        # an org-wide quiet week or two, outside the recent window so it cannot hide drift
        for k in rng.choice(np.arange(2, max(3, self.drift_week - 1)),
                            size=min(2, max(1, self.drift_week - 3)), replace=False):
            self.quiet[int(k)] = 0.15
        self.pulse = rng.gamma(25.0, 1 / 25.0, size=w)  # the whole org's busier and calmer weeks
        self.away = np.zeros((self.n, w), dtype=bool)
        for p in range(self.n):
            for _ in range(int(rng.integers(1, 4))):
                first = int(rng.integers(0, w))
                self.away[p, first:first + int(rng.integers(1, 3))] = True

    def _affinity(self, a: int, b: int) -> float:
        names = (self.org.departments[a], self.org.departments[b])
        return _AFFINITY.get(names, _AFFINITY.get((names[1], names[0]), _DEFAULT_AFFINITY))

    def _plan_seams(self) -> None:
        rng, org = self.rng, self.org
        n_d = len(org.departments)
        pairs = [(a, b) for a in range(n_d) for b in range(a + 1, n_d)]
        sizes = [len(m) for m in self.by_dept]
        strength = {p: self._affinity(*p) * math.sqrt(sizes[p[0]] * sizes[p[1]])
                    * rng.lognormal(0, 0.25) for p in pairs}
        total = sum(strength.values())
        self.ties: list[_Tie] = []
        for p in pairs:
            count = int(rng.poisson(TIES_PER_PERSON * self.n * strength[p] / total)) + 2
            for _ in range(count):
                a = int(rng.choice(self.by_dept[p[0]]))
                b = self._peer_of(a, self.by_dept[p[1]])
                self.ties.append(_Tie(a, b, p, float(rng.gamma(3.0, 0.5)), bool(rng.random() < 0.6)))
        self.project_rate = {p: PROJECTS_PER_PERSON * self.n * strength[p] / total for p in pairs}
        # expected weekly contact of a seam, to pick busy pairs for drift and controls
        volume = {p: 0.0 for p in pairs}
        for t in self.ties:
            volume[t.pair] += t.rate * 0.1 + (0.25 if t.one_on_one else 0.0)
        for p in pairs:
            volume[p] += self.project_rate[p] * 5 * 4.0
        steady = {p: 0.0 for p in pairs}
        for t in self.ties:
            steady[t.pair] += t.rate * 0.1 + (0.25 if t.one_on_one else 0.0)
        # drift is planted where standing ties carry most of the contact: a seam that
        # lives on occasional projects is too erratic to show a change in six weeks
        busy = sorted(pairs, key=lambda p: -volume[p])
        healthy = [p for p in busy if steady[p] * 26 >= 60 and steady[p] >= 0.5 * volume[p]]
        # The seams to thin are drawn whether or not drift is planted, so an
        # organisation without drift is the same one, with the same controls.
        chosen: list[tuple[int, int]] = []
        if len(healthy) >= 4:
            want = int(rng.integers(2, 4))
            pool = healthy[: max(want + 2, int(len(healthy) * 0.6))]
            chosen = [pool[int(k)] for k in rng.permutation(len(pool))[:want]]
        severity = {p: float(rng.uniform(0.65, 0.8)) for p in chosen}
        self.drifting = chosen if self.drift else []
        self.severity = severity if self.drift else {}
        self.stable = [p for p in healthy if p not in set(chosen)][:6]
        self.lapsed: dict[int, set[int]] = {}
        for pair in self.drifting:
            # the seam's severity decides how many of its standing ties go silent
            ties = [t for t in self.ties if t.pair == pair]
            order = rng.permutation(len(ties))
            for k in order[: max(1, round(self.severity[pair] * len(ties)))]:
                t = ties[int(k)]
                t.lapses = True
                self.lapsed.setdefault(t.a, set()).add(t.b)
                self.lapsed.setdefault(t.b, set()).add(t.a)
        self.projects = self._plan_projects(pairs)

    def _peer_of(self, a: int, pool: np.ndarray) -> int:
        """Someone in ``pool`` of a similar level to ``a``, usually."""
        levels = np.array([self.org.level[i] for i in pool])
        weights = np.exp(-np.abs(levels - self.org.level[a]))
        return int(self.rng.choice(pool, p=weights / weights.sum()))

    def _plan_projects(self, pairs: list[tuple[int, int]]) -> list[_Project]:
        rng, projects = self.rng, []
        for p in pairs:
            # starting before the data begins keeps the first weeks like any other
            for week in range(-6, self.total_weeks):
                rate = self.project_rate[p]
                if p in self.severity and week >= self.drift_week:
                    rate *= 1 - self.severity[p]
                for _ in range(int(rng.poisson(rate))):
                    length = int(rng.integers(2, 6))
                    size_a = int(rng.integers(2, 4))
                    size_b = int(rng.integers(2, 4))
                    members = list(dict.fromkeys(
                        [int(x) for x in rng.choice(self.by_dept[p[0]], size=size_a)]
                        + [int(x) for x in rng.choice(self.by_dept[p[1]], size=size_b)]))
                    last = week + length - 1
                    if p in self.severity and week < self.drift_week <= last \
                            and rng.random() < self.severity[p]:
                        last = self.drift_week - 1  # the seam went quiet: the project stalled
                    projects.append(_Project(p, members, week, last, float(rng.gamma(4.0, 0.25))))
        return projects

    # --- helpers ----------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}{self.seed}-{self.ids}"

    def _slot(self, p: int, week: int, length: int = 0, step: int = 1) -> tuple[int, int]:
        """A local (day, minute) inside person p's working hours in a week."""
        start, end, days, _, _ = _HOURS[self.org.hours[p]]
        day = week * 7 + days[int(self.rng.integers(len(days)))]
        span = max(1, (end - start - length) // step)
        return day, start + int(self.rng.integers(span)) * step

    def _blocked(self, week: int, people: Sequence[int]) -> bool:
        """In the recent window, people whose tie lapsed never meet or write."""
        if week < self.drift_week or not self.lapsed:
            return False
        for p in people:
            gone = self.lapsed.get(p)
            if gone and any(q in gone for q in people):
                return True
        return False

    def _mail(self, w: _Writer, week: int, sender: int, recipients: Sequence[int],
              cc: Sequence[int] = ()) -> None:
        if self.away[sender, week]:
            return
        if week >= self.drift_week and self.lapsed and self._blocked(week,
                                                                      [sender, *recipients, *cc]):
            return
        day, minute = self._slot(sender, week)
        at = self.clock.utc(self.org.zone[sender], day, minute) + int(self.rng.integers(60))
        if not 0 <= at < self.data_end:
            return
        e = self.org.emails
        w.add(f'{{"id":"<{self._id("m")}@{DEMO_DOMAIN}>","date":"{self.clock.utc_text(at)}",'
              f'"from":"{e[sender]}","to":[{_quote([e[r] for r in recipients])}],'
              f'"cc":[{_quote([e[c] for c in cc])}]}}\n')

    def _meeting(self, w: _Writer, week: int, organizer: int, attendees: Sequence[int],
                 minutes: int, extra: str = "") -> None:
        people = [organizer, *attendees]
        if self._blocked(week, people):
            return
        day, minute = self._slot(organizer, week, minutes, 15)
        zone = self.org.zone[organizer]
        at = self.clock.utc(zone, day, minute)
        if not 0 <= at < self.future_end:
            return
        e = self.org.emails
        declined = [e[a] for a in attendees if self.away[a, week] or self.rng.random() < 0.04]
        responses = ""
        if declined:
            responses = ',"responses":{' + ",".join(f'"{x}":"declined"' for x in declined) + "}"
        status = "cancelled" if self.rng.random() < 0.03 else "confirmed"
        w.add(f'{{"id":"{self._id("e")}","start":"{self.clock.local_text(zone, day, minute)}",'
              f'"end":"{self.clock.local_text(zone, day, minute + minutes)}",'
              f'"organizer":"{e[organizer]}","attendees":[{_quote([e[a] for a in attendees])}],'
              f'"status":"{status}"{responses}{extra}}}\n')

    def _series(self, w: _Writer, organizer: int, attendees: Sequence[int], minutes: int,
                interval: int, until_week: int | None = None, first_week: int = 0) -> None:
        """A weekly (or every ``interval`` weeks) meeting as one line with an rrule."""
        day, minute = self._slot(organizer, first_week + int(self.rng.integers(interval)),
                                 minutes, 30)
        zone = self.org.zone[organizer]
        e = self.org.emails
        first = day // 7
        one_on_one = len(attendees) == 1
        exdates = [
            self.clock.local_text(zone, day + 7 * (k - first), minute)
            for k in range(first, self.total_weeks, interval)
            if self.quiet[k] < 1
            or (one_on_one and (self.away[organizer, k] or self.away[attendees[0], k]))
        ]
        rule = f"FREQ=WEEKLY;INTERVAL={interval}"
        if until_week is not None:
            rule += f";UNTIL={self.clock.until_text(until_week * 7)}"
        extra = f',"rrule":"{rule}","timezone":"{self.org.zones[zone]}"'
        if exdates:
            extra += f',"exdate":[{_quote(exdates)}]'
        w.add(f'{{"id":"{self._id("s")}","start":"{self.clock.local_text(zone, day, minute)}",'
              f'"end":"{self.clock.local_text(zone, day, minute + minutes)}",'
              f'"organizer":"{e[organizer]}","attendees":[{_quote([e[a] for a in attendees])}],'
              f'"status":"confirmed"{extra}}}\n')

    # --- writing ----------------------------------------------------------------
    def run(self) -> Truth:
        self.out.mkdir(parents=True, exist_ok=True)
        self._write_people()
        with (self.out / "events.jsonl").open("w", buffering=1 << 20) as ef, \
                (self.out / "messages.jsonl").open("w", buffering=1 << 20) as mf:
            events, mail = _Writer(ef), _Writer(mf)
            self._recurring(events)
            for week in range(self.total_weeks):
                self._week(week, events, mail)
            events.flush()
            mail.flush()
        self._write_samples()
        truth = self._truth()
        (self.out / "truth.json").write_text(json.dumps(truth.as_json(), indent=2) + "\n")
        return truth

    def _write_people(self) -> None:
        org = self.org
        rows = ["email,name,department,title,level,manager,timezone,working_hours\n"]
        for i, email in enumerate(org.emails):
            level = org.level[i]
            dept = org.departments[org.dept[i]]
            title = f"{_TITLES[level]}, {dept}" if level >= 4 else f"{_TITLES[level]}"
            if org.manager[i] < 0:
                title = "Chief Executive Officer"
            boss = org.emails[org.manager[i]] if org.manager[i] >= 0 else ""
            rows.append(f'{email},{org.names[i]},{dept},"{title}",{level},{boss},'
                        f"{org.zones[org.zone[i]]},{_HOURS[org.hours[i]][3]}\n")
        (self.out / "people.csv").write_text("".join(rows))

    def _recurring(self, w: _Writer) -> None:
        org = self.org
        for team in org.teams:
            lead, members = team[0], team[1:]
            if not members:
                continue
            self._series(w, lead, members, 45 if len(team) < 7 else 60, 1)
            for m in members:
                self._series(w, lead, [m], 30, int(self.rng.choice([1, 2])))
        for t in self.ties:
            if t.one_on_one:
                self._series(w, t.a, [t.b], 30, 2, self.drift_week if t.lapses else None)
        # monthly all-hands (a broadcast: the analysis must ignore it)
        ceo = 0
        everyone = [p for p in range(1, self.n)] if self.n <= 500 else []
        e = org.emails
        attendees = _quote([e[p] for p in everyone] or [f"all-staff@{DEMO_DOMAIN}"])
        day, minute = self._slot(ceo, 0, 60, 60)
        zone = org.zone[ceo]
        w.add(f'{{"id":"{self._id("s")}","start":"{self.clock.local_text(zone, day, minute)}",'
              f'"end":"{self.clock.local_text(zone, day, minute + 60)}","organizer":"{e[ceo]}",'
              f'"attendees":[{attendees}],"status":"confirmed","rrule":"FREQ=MONTHLY;BYSETPOS=1;'
              f'BYDAY=MO,TU,WE,TH,FR","timezone":"{org.zones[zone]}"}}\n')

    def _week(self, week: int, events: _Writer, mail: _Writer) -> None:
        rng, org = self.rng, self.org
        level = self.quiet[week] * self.pulse[week]
        for team in org.teams:
            self._team_week(week, team, level, events, mail)
        for t in self.ties:
            rate = 0.0 if t.lapses and week >= self.drift_week else t.rate
            for _ in range(int(rng.poisson(rate * level * rng.gamma(2.0, 0.5)))):
                a, b = (t.a, t.b) if rng.random() < 0.5 else (t.b, t.a)
                self._mail(mail, week, a, [b])
        for p in self.projects:
            if p.first_week <= week <= p.last_week:
                self._project_week(week, p, level, events, mail)
        self._noise_week(week, level, mail)

    def _team_week(self, week: int, team: list[int], level: float, events: _Writer,
                   mail: _Writer) -> None:
        rng = self.rng
        count = int(rng.poisson(4.5 * len(team) * level * rng.gamma(4.0, 0.25)))
        size = len(team)
        senders = rng.integers(0, size, count)
        shifts = rng.integers(1, size, (count, 3)) if size > 1 else np.zeros((count, 3), int)
        extra = rng.random(count)
        for k in range(count):
            s = int(senders[k])
            to = [team[(s + int(shifts[k, 0])) % size]]
            cc = [team[(s + int(shifts[k, 1])) % size]] if extra[k] < 0.25 else []
            if to[0] == team[s]:
                continue
            self._mail(mail, week, team[s], to, [c for c in cc if c not in to and c != team[s]])
        if size > 2:
            for _ in range(int(rng.poisson(0.15 * size * level))):
                organizer = team[int(rng.integers(size))]
                others = [x for x in team if x != organizer]
                pick = rng.choice(len(others), size=min(len(others), int(rng.integers(1, 4))),
                                  replace=False)
                self._meeting(events, week, organizer, [others[int(i)] for i in pick],
                              int(rng.choice([30, 30, 45, 60])))

    def _project_week(self, week: int, p: _Project, level: float, events: _Writer,
                      mail: _Writer) -> None:
        rng, members = self.rng, p.members
        if len(members) < 2:
            return
        if p.pair in self.severity and week >= self.drift_week:
            level *= 1 - self.severity[p.pair]  # what survives on a drifting seam is thinner
        count = int(rng.poisson(2.5 * len(members) * p.intensity * level))
        for _ in range(count):
            pick = rng.choice(len(members), size=min(len(members), int(rng.integers(2, 4))),
                              replace=False)
            people = [members[int(i)] for i in pick]
            self._mail(mail, week, people[0], people[1:2], people[2:])
        if rng.random() < 0.9 * min(1.0, level):
            organizer = members[int(rng.integers(len(members)))]
            self._meeting(events, week, organizer, [m for m in members if m != organizer],
                          int(rng.choice([45, 60])))

    def _noise_week(self, week: int, level: float, mail: _Writer) -> None:
        rng, n, e = self.rng, self.n, self.org.emails
        count = int(rng.poisson(0.6 * n * level))
        senders = rng.integers(0, n, count)
        receivers = rng.integers(0, n, count)
        dept = self.org.dept
        keep = rng.random(count)
        for k in range(count):
            s, r = int(senders[k]), int(receivers[k])
            if s == r:
                continue
            if week >= self.drift_week and self.severity:
                pair = (min(dept[s], dept[r]), max(dept[s], dept[r]))
                if keep[k] < self.severity.get(pair, 0.0):
                    continue  # a drifting seam is quieter in every way
            self._mail(mail, week, s, [r])
        # external correspondents: counted by nobody, but real exports are full of them
        for _ in range(int(rng.poisson(0.4 * n * level))):
            s = int(rng.integers(n))
            if self.away[s, week]:
                continue
            domain = EXTERNAL_DOMAINS[int(rng.integers(len(EXTERNAL_DOMAINS)))]
            outside = f"{_FIRST[int(rng.integers(len(_FIRST)))].lower()}@{domain}"
            day, minute = self._slot(s, week)
            at = self.clock.utc(self.org.zone[s], day, minute)
            if 0 <= at < self.data_end:
                sender, to = (e[s], outside) if rng.random() < 0.5 else (outside, e[s])
                mail.add(f'{{"id":"<{self._id("x")}@{DEMO_DOMAIN}>",'
                         f'"date":"{self.clock.utc_text(at)}","from":"{sender}",'
                         f'"to":["{to}"],"cc":[]}}\n')
        # the weekly company newsletter: a broadcast
        if self.n > 26 and week * 7 * 86400 < self.data_end:
            everyone = _quote(e if self.n <= 500 else [f"all-staff@{DEMO_DOMAIN}"])
            at = week * 7 * 86400 + 9 * 3600
            mail.add(f'{{"id":"<{self._id("n")}@{DEMO_DOMAIN}>",'
                     f'"date":"{self.clock.utc_text(at)}","from":"news@{DEMO_DOMAIN}",'
                     f'"to":[{everyone}],"cc":[]}}\n')

    def _write_samples(self) -> None:
        """A small calendar file and mailbox so those readers are exercised too."""
        team = next(t for t in self.org.teams if len(t) >= 3)
        e = [self.org.emails[p] for p in team]
        zone = self.org.zones[self.org.zone[team[0]]]
        first = dt.datetime.combine(self.start + dt.timedelta(days=2), dt.time(14),
                                    tzinfo=ZoneInfo(zone))
        (self.out / "calendar").mkdir(exist_ok=True)
        (self.out / "calendar" / "team.ics").write_text(_sample_ics(first, e, zone, self.seed))
        (self.out / "mail").mkdir(exist_ok=True)
        (self.out / "mail" / "sample.mbox").write_text(
            _sample_mbox(first, e, self.rng, 20, self.seed))

    def _truth(self) -> Truth:
        names = self.org.departments
        # the ties that were plainly real: a standing 1:1, or steady mail (not a trickle)
        lapsed = sorted({tuple(sorted((self.org.emails[t.a], self.org.emails[t.b])))
                         for t in self.ties if t.lapses and (t.one_on_one or t.rate >= 1.0)})
        return Truth(
            as_of=self.as_of,
            drifting_pairs=[_named(names, p) for p in self.drifting],
            stable_pairs=[_named(names, p) for p in self.stable],
            lapsed_ties=[(a, b) for a, b in lapsed],
            seed=self.seed, people=self.n, weeks=self.weeks)


def _named(names: Sequence[str], pair: tuple[int, int]) -> tuple[str, str]:
    a, b = sorted((names[pair[0]], names[pair[1]]))
    return a, b


def _sample_ics(first: dt.datetime, emails: Sequence[str], zone: str, seed: int) -> str:
    """A design review repeating weekly, and one one-off, with titles that must never leak."""
    def stamp(t: dt.datetime) -> str:
        return t.strftime("%Y%m%dT%H%M%S")

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Bridgework demo//EN"]
    for uid, start, rule, title in (
        (f"review-{seed}@{DEMO_DOMAIN}", first, "RRULE:FREQ=WEEKLY;COUNT=12", "Design review"),
        (f"offsite-{seed}@{DEMO_DOMAIN}", first + dt.timedelta(days=15), None, "Team offsite"),
    ):
        lines += ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTART;TZID={zone}:{stamp(start)}",
                  f"DTEND;TZID={zone}:{stamp(start + dt.timedelta(hours=1))}",
                  f"SUMMARY:{title}", "DESCRIPTION:Agenda: private notes",
                  f"ORGANIZER:mailto:{emails[0]}"]
        lines += [f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{x}" for x in emails[1:]]
        if rule:
            lines.append(rule)
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _sample_mbox(first: dt.datetime, emails: Sequence[str], rng: np.random.Generator,
                 count: int, seed: int) -> str:
    parts = []
    for k in range(max(count, 3)):
        at = first + dt.timedelta(days=int(rng.integers(0, 60)), minutes=int(rng.integers(480)))
        sender, to = emails[k % len(emails)], emails[(k + 1) % len(emails)]
        parts.append(
            f"From {sender} {at.strftime('%a %b %d %H:%M:%S %Y')}\n"
            f"From: {sender}\nTo: {to}\nDate: {at.strftime('%a, %d %b %Y %H:%M:%S %z')}\n"
            f"Message-ID: <mbox-{seed}-{k}@{DEMO_DOMAIN}>\nSubject: Quick question {k}\n\n"
            "Hi, can we talk about the plan? (a body that must never be read)\n\n")
    return "".join(parts)


def generate(out: Path, *, people: int = 200, weeks: int = 40, seed: int = 1,
             as_of: dt.date | None = None, drift: bool = True) -> Truth:
    """Write a data directory for a synthetic organisation; return what was planted."""
    if people < 20 or weeks < RECENT_WEEKS + 6:
        raise ValueError("the demo needs at least 20 people and 12 weeks")
    return _Generator(out, people, weeks, seed, as_of or dt.date.today(), drift).run()


def iter_lines(path: Path) -> Iterator[str]:
    """The lines of a generated file (handy in tests)."""
    with path.open() as f:
        yield from f

"""A second synthetic organisation for judging detection, built from personal networks.

``tests/quality/bursty.py`` makes a seam's contact noisy mostly through
multi-week cross-department projects. Tuning a detector on one generator
tunes it to that generator's noise, so this one starts from another picture
of an organisation, the one the product's issue describes:

- 1,000 people in 9 departments of unequal size (5 % to 22 %). Everyone has
  a stable personal network of about fifteen contacts, most in their own
  team and department and a median 29 % across (boundary spanners far more,
  some people almost none), and each contact starts threads at a weekly rate
  of its own. Most cross-department contact is these ties, not projects.
- Mail threads have lognormal lengths (the top tenth of threads carries over
  half the mail); replies spread over one to three weeks but mostly come in
  the first; some threads pull in more of the starter's contacts, a few copy
  an outside address.
- The year shapes activity: a deep year end, a spring and a summer dip, a
  seasonal swing of +/- 15 %, and personal vacations of one to three weeks
  (more of them in summer and at the year end).
- Meetings: recurring project series (weekly or fortnightly, 3-8 people
  from 1-3 departments, lasting 4-20 weeks), one-off project meetings with
  a few of a person's contacts, weekly team meetings, a monthly all-hands
  that invites everyone, and a few broadcast mails a week (the counting rules
  ignore both).
- ``as_of`` moves through the year with the seed (its own formula), so for
  some seeds a holiday falls in the recent weeks.

Planting draws from its own random stream, so ``plant=False`` gives the same
organisation message for message. The seams are drawn among department
pairs with at least the median number of distinct cross-department ties:

- ``declining`` seams fall by ``drop`` along a linear ramp of ``ramp_weeks``
  weeks that ends 0-2 weeks before the last week (``settled`` weeks earlier
  still) and stays at its full drop after. Unlike bursty.py (one draw per
  thread or project), every message and every meeting occurrence across the
  seam draws for itself: with the ramp's probability it loses its people on
  the far side of the seam from its sender or organiser (a mail left with no
  recipient is not sent); with ``planting="whole"`` it is not sent or held at all.
- ``thinning`` seams lose ``thin`` of their cross-seam messages and meeting
  attendance along the same kind of ramp; then every pair of people that was
  in contact across the seam in a week gets one of that week's own messages
  or meetings back (no invented mail), so the distinct ties are unchanged
  (``thin_meetings=False``: the messages alone, the meetings as they were).

The types (``Mail``, ``Meeting``, ``Truth``, ``BurstyOrg``), the address domain
and the pair semantics (``_pairs_of``) are bursty.py's, so scoring, the
ledger route and the data-directory writer work on either generator.

Calibrated (seeds 201-210 only) against what the product's issue measured on
an independent generator of this kind: a median seam's weekly share of ties
varies by about 28 % over the baseline weeks and its share of summed weight
by about 36 %, and the old Welch detector ranks planted seams near the top.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from connectors.base import Person
from tests.quality.bursty import (
    BROADCAST,
    DOMAIN,
    EXTERNAL,
    PLANTINGS,
    BurstyOrg,
    Mail,
    Meeting,
    Truth,
    _pairs_of,
    department_list,
)

# name, share of people: unequal on purpose, so seams differ in size by an order of magnitude
DEPARTMENTS: tuple[tuple[str, float], ...] = (
    ("Engineering", 0.22), ("Sales", 0.16), ("Customer Care", 0.13), ("Product", 0.11),
    ("Operations", 0.10), ("Marketing", 0.09), ("Finance", 0.07), ("Research", 0.07),
    ("People Ops", 0.05),
)
CONTACTS = 9.0  # median contacts a person seeks out (others seek them too: ~15 in all)
CROSS_MEAN = 0.23  # mean share of them sought across (the median person ends with ~29 %)
THREAD_RATE = 0.12  # weekly thread starts per unit of contact strength
# Thread length: lognormal, capped so that one thread cannot be a seam's whole month; the
# top tenth of threads still carries over half the mail.
LENGTH_SIGMA = 1.8
THREAD_CAP = 40
# Weeks after its start a message of a thread falls in, by the thread's span (1-3 weeks).
# Front-loaded: replies come soon, so a long thread is mostly one week's contact, not a
# multi-week burst (multi-week bursts are bursty.py's kind of noise; here they come from
# the project series alone).
REPLY_LAG = ((1.0, 0.0, 0.0), (0.8, 0.2, 0.0), (0.72, 0.2, 0.08))
SERIES_PER_WEEK = 0.006  # new recurring project series per person and week
ONE_OFF = 0.2  # chance a person calls a one-off project meeting in a week (times their pace)
SEASON = 0.15  # the seasonal swing, +/-
AFFINITY_SIGMA = 0.6  # how unequally department pairs work together (lognormal, symmetrised)

def default_as_of(seed: int) -> dt.date:
    """A Monday that walks through the year with the seed, in steps of 29 weeks."""
    return dt.date(2024, 12, 30) + dt.timedelta(weeks=(seed * 29 + 3) % 52)


def generate(seed: int, *, people: int = 1000, weeks: int = 40, plant: bool = True,
             declining: int = 4, thinning: int = 1, drop: float = 0.6, thin: float = 0.7,
             ramp_weeks: int = 8, settled: int = 0, planting: str = "side",
             departments: int | None = None, as_of: dt.date | None = None,
             thin_meetings: bool = True) -> BurstyOrg:
    """One organisation; the same arguments give the same organisation."""
    world = _Organisation(seed, people, weeks, as_of or default_as_of(seed), departments).build()
    return _Plant(world, seed, declining if plant else 0, thinning if plant else 0, drop, thin,
                  ramp_weeks, settled, planting, thin_meetings).apply()


def generate_both(seed: int, *, people: int = 1000, weeks: int = 40, declining: int = 4,
                  thinning: int = 1, drop: float = 0.6, thin: float = 0.7, ramp_weeks: int = 8,
                  settled: int = 0, planting: str = "side", departments: int | None = None,
                  as_of: dt.date | None = None,
                  thin_meetings: bool = True) -> tuple[BurstyOrg, BurstyOrg]:
    """``generate(seed, ...)`` planted and unplanted, building the organisation once."""
    world = _Organisation(seed, people, weeks, as_of or default_as_of(seed), departments).build()
    return (_Plant(world, seed, declining, thinning, drop, thin, ramp_weeks, settled,
                   planting, thin_meetings).apply(),
            _Plant(world, seed, 0, 0, drop, thin, ramp_weeks, settled, planting).apply())


# --------------------------------------------------------------------------- the organisation


@dataclass
class _World:
    people: list[Person]
    dept_name: dict[str, str]  # e-mail -> department
    names: list[str]
    mails: list[Mail]
    meetings: list[Meeting]
    weeks: int
    as_of: dt.date


class _Organisation:
    def __init__(self, seed: int, n: int, weeks: int, as_of: dt.date,
                 departments: int | None = None) -> None:
        self.layout = department_list(DEPARTMENTS, departments)
        self.rng = np.random.default_rng([seed, 0x6E6574])
        self.n, self.weeks, self.as_of = n, weeks, as_of
        first = dt.datetime.combine(as_of - dt.timedelta(weeks=weeks), dt.time(), tzinfo=dt.UTC)
        self.week_start = [first + dt.timedelta(weeks=w) for w in range(weeks)]
        self.mails: list[Mail] = []
        self.meetings: list[Meeting] = []
        self._serial = 0

    def build(self) -> _World:
        self._staff()
        self._network()
        self._year()
        self._threads()
        self._broadcasts()
        self._team_meetings()
        self._series()
        self._one_offs()
        self._all_hands()
        people = [Person(email=self.email[i], department=self.names[self.dept[i]],
                         name=f"Colleague {i}", title=self.title[i], level=int(self.level[i]),
                         manager=self.manager[i], timezone="UTC") for i in range(self.n)]
        return _World(people, {p.email: p.department for p in people}, self.names, self.mails,
                      self.meetings, self.weeks, self.as_of)

    def _id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial}"

    def _moment(self, w: int, day: int | None = None, hour: int | None = None) -> dt.datetime:
        rng = self.rng
        day = int(rng.integers(0, 5)) if day is None else day
        hour = int(rng.integers(8, 18)) if hour is None else hour
        return self.week_start[w] + dt.timedelta(days=day, hours=hour,
                                                 minutes=int(rng.integers(0, 60)))

    # --- people, teams and who knows whom ---------------------------------------------------
    def _staff(self) -> None:
        rng, n = self.rng, self.n
        shares = np.array([s for _, s in self.layout])
        sizes = np.maximum(4, np.floor(shares * n)).astype(int)
        sizes[0] += n - sizes.sum()
        self.names = [name for name, _ in self.layout]
        self.dept = np.repeat(np.arange(len(sizes)), sizes)
        self.members = [np.flatnonzero(self.dept == d) for d in range(len(sizes))]
        self.email = [f"n{i:04d}@{DOMAIN}" for i in range(n)]
        self.level = np.ones(n, int) + rng.binomial(2, 0.4, n)
        self.title = ["Individual contributor"] * n
        self.manager: list[str | None] = [None] * n
        self.teams: list[np.ndarray] = []
        self.leads: list[int] = []
        for people in self.members:
            head, rest = int(people[0]), rng.permutation(people[1:])
            self.level[head], self.title[head] = 6, "Director"
            cuts = np.cumsum(rng.integers(4, 12, rest.size))
            for team in np.split(rest, cuts[cuts < rest.size]):
                if team.size == 0:
                    continue
                lead = int(team[0])
                self.level[lead], self.title[lead] = 4, "Team lead"
                self.manager[lead] = self.email[head]
                for member in team[1:]:
                    self.manager[int(member)] = self.email[lead]
                self.teams.append(np.sort(team))
                self.leads.append(lead)
            self.teams[-1] = np.sort(np.append(self.teams[-1], head))  # the head sits with a team
        self.team_of = np.zeros(n, int)
        for t, team in enumerate(self.teams):
            self.team_of[team] = t
        # how much each person reaches out; boundary spanners are also sought across
        self.outgoing = rng.gamma(3.0, 1 / 3, n)
        self.spanning = rng.beta(2.0, 2.0 / CROSS_MEAN - 2.0, n)

    def _network(self) -> None:
        """Undirected contacts (u < v) with a weekly thread rate of their own."""
        rng, n = self.rng, self.n
        n_dept = len(self.members)
        sizes = np.array([m.size for m in self.members], float)
        affinity = rng.lognormal(0.0, AFFINITY_SIGMA, (n_dept, n_dept))
        affinity = np.sqrt(affinity * affinity.T)
        np.fill_diagonal(affinity, 0.0)
        pull = self.spanning + 0.05  # whom people across a department boundary reach for
        sought = np.clip(np.round(rng.lognormal(math.log(CONTACTS), 0.45, n)), 3, 60).astype(int)
        ends: list[tuple[int, int]] = []
        for i in range(n):
            d = int(self.dept[i])
            k = int(sought[i])
            cross = int(rng.binomial(k, self.spanning[i]))
            team = self.teams[self.team_of[i]]
            near = int(rng.binomial(k - cross, 0.55))
            if team.size > 1:
                ends += [(i, int(j)) for j in rng.choice(team, near)]
            ends += [(i, int(j)) for j in rng.choice(self.members[d], k - cross - near)]
            if cross:
                p = affinity[d] * sizes
                for there, count in enumerate(rng.multinomial(cross, p / p.sum())):
                    if count:
                        pool = self.members[there]
                        w = pull[pool] / pull[pool].sum()
                        ends += [(i, int(j)) for j in rng.choice(pool, count, p=w)]
        pairs = np.array([(min(a, b), max(a, b)) for a, b in ends if a != b], np.int64)
        strength = rng.lognormal(0.0, 0.9, len(pairs))
        key, inverse = np.unique(pairs[:, 0] * n + pairs[:, 1], return_inverse=True)
        self.u, self.v = key // n, key % n
        self.strength = np.bincount(inverse, weights=strength) \
            * np.sqrt(self.outgoing[self.u] * self.outgoing[self.v])
        self.affinity = affinity
        # each person's contacts, for picking who else joins a thread or meeting
        self.contacts: list[np.ndarray] = [np.empty(0, int)] * n
        self.contact_weight: list[np.ndarray] = [np.empty(0)] * n
        both = np.concatenate([self.u, self.v])
        other = np.concatenate([self.v, self.u])
        weight = np.concatenate([self.strength, self.strength])
        order = np.argsort(both, kind="stable")
        starts = np.searchsorted(both[order], np.arange(n + 1))
        for i in range(n):
            chunk = order[starts[i]:starts[i + 1]]
            self.contacts[i] = other[chunk]
            self.contact_weight[i] = weight[chunk] / weight[chunk].sum() if chunk.size else weight[chunk]

    def _year(self) -> None:
        """Activity per week (season, public holidays) and who is on vacation."""
        rng, weeks = self.rng, self.weeks
        iso = np.array([d.isocalendar()[1] for d in self.week_start])
        dip = {51: 0.8, 52: 0.35, 53: 0.35, 1: 0.5, 15: 0.82, 29: 0.9, 30: 0.85, 31: 0.78,
               32: 0.8, 33: 0.88}
        holiday = np.array([dip.get(int(k), 1.0) for k in iso])
        self.activity = (1 + SEASON * np.cos(2 * math.pi * (iso - 10) / 52)) * holiday
        # vacations: blocks of one to three weeks, about five weeks a year, drawn to the holidays
        lure = np.where(np.isin(iso, [28, 29, 30, 31, 32, 33, 52, 53, 1]), 4.0, 1.0)
        lure[np.isin(iso, [15, 51])] = 2.0
        lure /= lure.sum()
        self.away = np.zeros((self.n, weeks), bool)
        blocks = rng.poisson(2.6 * weeks / 52, self.n)
        for i in np.flatnonzero(blocks):
            for w in rng.choice(weeks, int(blocks[i]), p=lure):
                self.away[i, w:w + int(rng.choice([1, 1, 2, 2, 3]))] = True
        self.here = ~self.away

    # --- mail -------------------------------------------------------------------------------
    def _threads(self) -> None:
        """Each contact starts threads at its own rate; lengths are lognormal."""
        rng = self.rng
        u, v = self.u, self.v
        present = (self.here[u].astype(float) + self.here[v]) / 2  # [edge, week]
        mean = self.strength[:, None] * THREAD_RATE * self.activity[None, :] * present
        starts = rng.poisson(mean)
        edge, week = np.nonzero(starts)
        edge, week = np.repeat(edge, starts[edge, week]), np.repeat(week, starts[edge, week])
        lengths = np.minimum(THREAD_CAP, np.ceil(rng.lognormal(0.0, LENGTH_SIGMA, edge.size)))
        flip = rng.random(edge.size) < 0.5
        for e, w, length, f in zip(edge.tolist(), week.tolist(), lengths.astype(int).tolist(),
                                   flip.tolist(), strict=True):
            a, b = (int(v[e]), int(u[e])) if f else (int(u[e]), int(v[e]))
            if not self.here[a, w]:
                a, b = b, a
            self._thread(a, b, w, length)

    def _thread(self, starter: int, partner: int, w: int, length: int) -> None:
        rng = self.rng
        people = [starter, partner]
        if rng.random() < 0.3:  # a wider thread: more of the starter's contacts
            pool = self.contacts[starter]
            extra = rng.choice(pool, min(pool.size, int(rng.integers(1, 5))), replace=False,
                               p=self.contact_weight[starter])
            people += [int(x) for x in extra if int(x) not in people]
        outside = (EXTERNAL[int(rng.integers(len(EXTERNAL)))],) if rng.random() < 0.07 else ()
        # replies come soon: most of a long thread in its first week, a tail in the next two
        span = 1 + (length > 3) + (length > 20)
        offsets = np.sort(rng.choice(3, length, p=REPLY_LAG[span - 1]))
        offsets[0] = 0
        senders = rng.integers(0, len(people), length)
        senders[0] = 0
        reply_all = rng.random(length) < 0.5
        group = self._id("t")
        last = -1
        for k in range(length):
            week = w + int(offsets[k])
            if week >= self.weeks:
                break
            s = int(senders[k])
            if s == last:  # a reply comes from someone else
                s = (s + 1) % len(people)
            sender = people[s]
            if not self.here[sender, week]:
                continue
            if reply_all[k] or last < 0 or len(people) == 2:
                to = [self.email[p] for p in people if p != sender]
            else:
                to = [self.email[people[last]]]
            last = s
            self.mails.append(Mail(self._id("m"), group, week, self._moment(week),
                                   self.email[sender], tuple(to), outside))

    def _broadcasts(self) -> None:
        """Announcements to large lists: the counting rules give them nothing."""
        rng = self.rng
        for w in range(self.weeks):
            for _ in range(int(rng.integers(2, 5))):
                sender = int(rng.integers(self.n))
                audience = rng.choice(self.n, int(rng.integers(BROADCAST + 10, max(BROADCAST + 11,
                                                                                   self.n // 3))),
                                      replace=False)
                to = tuple(self.email[int(a)] for a in audience if a != sender)
                self.mails.append(Mail(self._id("m"), self._id("b"), w, self._moment(w),
                                       self.email[sender], to))

    # --- meetings ---------------------------------------------------------------------------
    def _meeting(self, w: int, group: str, organizer: int, invitees: list[int], minutes: int,
                 when: dt.datetime, decline: float, cancelled: bool = False) -> None:
        rng = self.rng
        invited = [p for p in dict.fromkeys(invitees) if p != organizer]
        if not invited:
            return
        declined = frozenset(self.email[p] for p in invited
                             if not self.here[p, w] or rng.random() < decline)
        self.meetings.append(Meeting(self._id("e"), group, w, when, minutes, self.email[organizer],
                                     tuple(self.email[p] for p in invited), declined, cancelled))

    def _team_meetings(self) -> None:
        rng = self.rng
        for t, (team, lead) in enumerate(zip(self.teams, self.leads, strict=True)):
            day, hour = int(rng.integers(0, 5)), int(rng.integers(9, 12))
            for w in range(self.weeks):
                if not self.here[lead, w] or rng.random() > min(0.95, self.activity[w]):
                    continue  # the lead is away, or a holiday week thins the routine
                self._meeting(w, f"team{t}", lead, [int(m) for m in team], 45,
                              self.week_start[w] + dt.timedelta(days=day, hours=hour), 0.05)

    def _series(self) -> None:
        """Recurring project meetings: weekly or fortnightly, for 4-20 weeks."""
        rng, n = self.rng, self.n
        n_dept = len(self.members)
        sizes = np.array([m.size for m in self.members], float)
        reach = self.outgoing / self.outgoing.sum()
        for w in range(self.weeks):
            for _ in range(int(rng.poisson(SERIES_PER_WEEK * n * self.activity[w]))):
                owner = int(rng.choice(n, p=reach))
                home = int(self.dept[owner])
                spread = int(rng.choice([1, 2, 3], p=[0.35, 0.45, 0.2]))
                p = self.affinity[home] * sizes
                depts = [home, *(int(d) for d in rng.choice(n_dept, spread - 1, replace=False,
                                                              p=p / p.sum()))]
                team = self._recruit(owner, depts, int(rng.integers(3, 9)))
                every = 1 if rng.random() < 0.6 else 2
                length = int(rng.integers(4, 21))
                minutes = int(rng.choice([30, 45, 60, 60]))
                day, hour = int(rng.integers(0, 5)), int(rng.integers(9, 17))
                group = self._id("s")
                for week in range(w, min(self.weeks, w + length), every):
                    quiet = self.activity[week] < 0.6
                    if not self.here[owner, week] and rng.random() < 0.7:
                        continue  # skipped while the owner is away
                    self._meeting(week, group, owner, team, minutes,
                                  self.week_start[week] + dt.timedelta(days=day, hours=hour),
                                  0.08, cancelled=bool(rng.random() < (0.6 if quiet else 0.05)))

    def _recruit(self, owner: int, depts: list[int], size: int) -> list[int]:
        """People for a project: the owner's contacts in its departments first."""
        rng = self.rng
        team = [owner]
        mine = self.contacts[owner]
        for k in range(size - 1):
            d = depts[k % len(depts)]
            known = mine[self.dept[mine] == d]
            if known.size and rng.random() < 0.6:
                pick = int(known[rng.integers(known.size)])
            else:
                pool = self.members[d]
                pick = int(pool[rng.integers(pool.size)])
            if pick not in team:
                team.append(pick)
        return team

    def _one_offs(self) -> None:
        """A one-off project meeting with a few of the organiser's contacts."""
        rng = self.rng
        for w in range(self.weeks):
            chance = ONE_OFF * self.activity[w] * self.outgoing
            for i in np.flatnonzero((rng.random(self.n) < chance) & self.here[:, w]):
                pool = self.contacts[int(i)]
                if pool.size == 0:
                    continue
                guests = rng.choice(pool, min(pool.size, int(rng.integers(2, 7))), replace=False,
                                    p=self.contact_weight[int(i)])
                minutes = int(rng.choice([30, 30, 45, 60, 90]))
                self._meeting(w, self._id("o"), int(i), [int(g) for g in guests], minutes,
                              self._moment(w), 0.1, cancelled=bool(rng.random() < 0.04))

    def _all_hands(self) -> None:
        """Monthly, everyone invited: far above the broadcast size, so it counts for nothing."""
        phase = int(self.rng.integers(0, 4))
        for w in range(phase, self.weeks, 4):
            self._meeting(w, "allhands", 0, list(range(1, self.n)), 60,
                          self.week_start[w] + dt.timedelta(days=3, hours=16), 0.2)


# --------------------------------------------------------------------------- planting

Link = tuple[tuple[str, str], str, str]  # (department pair, person, person), each pair sorted
Tie = tuple[int, str, str]  # (week, person, person)


class _Plant:
    def __init__(self, world: _World, seed: int, declining: int, thinning: int, drop: float,
                 thin: float, ramp_weeks: int, settled: int, planting: str = "side",
                 thin_meetings: bool = True) -> None:
        if planting not in PLANTINGS:
            raise ValueError(f"planting must be one of {', '.join(PLANTINGS)}, not {planting!r}")
        self.world, self.planting, self.thin_meetings = world, planting, thin_meetings
        self.rng = np.random.default_rng([seed, 0x706C74])
        self.dept_of = world.dept_name
        self.drop, self.thin, self.ramp_weeks = drop, thin, ramp_weeks
        self.base: list[Mail | Meeting] = [*world.mails, *world.meetings]
        self.items: list[Mail | Meeting | None] = list(self.base)
        self.links = [self._links(item) for item in self.items]
        self.base_links = list(self.links)
        self.eligible = self._eligible()
        count = min(declining + thinning, len(self.eligible))
        order = self.rng.permutation(len(self.eligible))[:count]
        chosen = [self.eligible[int(k)] for k in order]
        self.declining, self.thinning = chosen[:declining], chosen[declining:]
        last = world.weeks - 1
        self.ramp_end = {pair: last - settled - int(self.rng.integers(0, 3))
                         for pair in chosen}

    def _links(self, item: Mail | Meeting | None) -> list[Link]:
        """The item's contact across departments: (department pair, person, person), sorted."""
        found: list[Link] = []
        if item is None:
            return found
        for a, b in _pairs_of(item):
            da, db = self.dept_of.get(a), self.dept_of.get(b)
            if da and db and da != db:
                found.append(((da, db) if da < db else (db, da), min(a, b), max(a, b)))
        return found

    def _eligible(self) -> list[tuple[str, str]]:
        """Department pairs with at least the median number of distinct (week, person pair)."""
        ties: dict[tuple[str, str], set[tuple[int, str, str]]] = defaultdict(set)
        for item, links in zip(self.items, self.links, strict=True):
            if item is not None:
                for pair, a, b in links:
                    ties[pair].add((item.week, a, b))
        names = sorted(self.world.names)
        count = {(x, y): len(ties.get((x, y), ())) for k, x in enumerate(names)
                 for y in names[k + 1:]}
        median = float(np.median(list(count.values())))
        return sorted(p for p, c in count.items() if c >= median)

    def _ramp(self, pair: tuple[str, str], week: int, full: float) -> float:
        start = self.ramp_end[pair] - self.ramp_weeks
        return full * min(1.0, max(0.0, (week - start) / self.ramp_weeks))

    def apply(self) -> BurstyOrg:
        for pair in self.declining:
            self._decline(pair)
        for pair in self.thinning:
            self._thin(pair)
        truth = Truth(self.world.as_of, self.world.weeks, list(self.declining),
                      list(self.thinning), self.eligible,
                      {" / ".join(p): end for p, end in self.ramp_end.items()})
        return BurstyOrg(self.world.people, [m for m in self.items if isinstance(m, Mail)],
                         [e for e in self.items if isinstance(e, Meeting)], truth)

    def _set(self, k: int, item: Mail | Meeting | None) -> None:
        self.items[k] = item
        self.links[k] = self._links(item)

    def _far_side(self, item: Mail | Meeting, pair: tuple[str, str]) -> str:
        """The seam's side away from whoever sent the mail or called the meeting."""
        anchor = self.dept_of.get(item.sender if isinstance(item, Mail) else item.organizer)
        if anchor == pair[0]:
            return pair[1]
        if anchor == pair[1]:
            return pair[0]
        return pair[int(self.rng.integers(2))]  # a third department's item: either side may go

    def _drop_side(self, item: Mail | Meeting, side: str) -> Mail | Meeting | None:
        """The item without its invitees or recipients from ``side`` (None: nobody left)."""
        if isinstance(item, Mail):
            to = tuple(r for r in item.to if self.dept_of.get(r) != side)
            cc = tuple(r for r in item.cc if self.dept_of.get(r) != side)
            return replace(item, to=to, cc=cc) if any(r in self.dept_of for r in to + cc) else None
        attendees = tuple(a for a in item.attendees if self.dept_of.get(a) != side)
        return replace(item, attendees=attendees, declined=item.declined & set(attendees)) \
            if attendees else None

    def _crossing(self, pair: tuple[str, str], links: list[list[Link]],
                  items: Sequence[Mail | Meeting | None]) -> list[int]:
        """Items giving contact across ``pair`` in weeks where its ramp has begun."""
        return [k for k, (item, found) in enumerate(zip(items, links, strict=True))
                if item is not None and self._ramp(pair, item.week, 1.0) > 0
                and any(p == pair for p, _, _ in found)]

    def _decline(self, pair: tuple[str, str]) -> None:
        """Each item across the seam, on its own draw, loses the far side at the ramp's level
        (``planting="whole"``: is dropped)."""
        for k in self._crossing(pair, self.links, self.items):
            item = self.items[k]
            assert item is not None
            if self.rng.random() < self._ramp(pair, item.week, self.drop):
                self._set(k, None if self.planting == "whole"
                          else self._drop_side(item, self._far_side(item, pair)))

    def _thin(self, pair: tuple[str, str]) -> None:
        """Fewer messages and less attendance across the seam; every weekly tie survives.

        The ties kept are the unplanted organisation's: a tie that a declining seam's
        draw took from a shared item (a meeting of three departments) comes back too,
        with only the two people it needs.
        """
        def ties(links: list[Link], week: int) -> set[Tie]:
            return {(week, a, b) for p, a, b in links if p == pair}

        base = self.base
        givers: dict[Tie, list[int]] = defaultdict(list)
        for k in self._crossing(pair, self.base_links, base):
            for tie in ties(self.base_links[k], base[k].week):
                givers[tie].append(k)
        kept: set[Tie] = set()
        for k in self._crossing(pair, self.links, self.items):
            item = self.items[k]
            assert item is not None
            level = self._ramp(pair, item.week, self.thin)
            side = self._far_side(item, pair)
            if isinstance(item, Mail):
                if self.rng.random() < level:
                    self._set(k, self._drop_side(item, side))
            elif self.thin_meetings:  # each far-side invitee stays away on a draw of their own
                away = {a for a in item.attendees if self.dept_of.get(a) == side
                        and a not in item.declined and self.rng.random() < level}
                if away:
                    self._set(k, replace(item, declined=item.declined | away))
            if self.items[k] is not None:
                kept |= ties(self.links[k], item.week)
        # a tie that vanished from a week gets one of its own items back, as it was unplanted
        lost = sorted(set(givers) - kept)
        for j in self.rng.permutation(len(lost)):
            tie = lost[int(j)]
            if tie in kept:
                continue  # an item given back for another tie restored this one too
            k = givers[tie][int(self.rng.integers(len(givers[tie])))]
            self._give_back(k, {tie[1], tie[2]})
            kept |= ties(self.links[k], base[k].week)

    def _give_back(self, k: int, people: set[str]) -> None:
        """Item ``k`` with ``people`` in it again as they were unplanted, nobody else back."""
        base, now = self.base[k], self.items[k]
        if isinstance(base, Mail):
            mail = now if isinstance(now, Mail) else replace(base, to=(), cc=())
            def keep(r: str) -> bool:
                return r in mail.to or r in mail.cc or r in people or r not in self.dept_of
            self._set(k, replace(mail, to=tuple(filter(keep, base.to)),
                                 cc=tuple(filter(keep, base.cc))))
            return
        meeting = now if isinstance(now, Meeting) else replace(base, attendees=())
        attendees = tuple(a for a in base.attendees if a in meeting.attendees or a in people)
        self._set(k, replace(meeting, attendees=attendees,
                             declined=(meeting.declined - people) & set(attendees)))

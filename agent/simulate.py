"""``bridgework simulate``: the real engine over simulated weeks, before the rules go live.

The organisation is read from a data directory (or the generated demo) and
put on the in-memory backends; from then on it keeps behaving as in its last
six weeks (those weeks replayed, so drift that is there stays there). The
engine is the daemon's own (``Engine.run_once`` every morning, hold upkeep
every hour) under an injected clock. Simulated people (``agent.simpeople``)
answer holds, book things over them, and sometimes keep in touch after
meeting; met meetings reach the ledger through the engine's own upkeep.

What it reports: per week, what happened to the holds, and each drifting
seam's share of its departments' person-to-person ties against its
baseline; at the end, how much of the lost share each seam regained. It also
checks, while it runs, what must never happen: two holds for one
suggestion, a write to an event Bridgework did not create, a hold outside
someone's working hours or over their busy time, and caps exceeded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from agent.drift import seam_weeks
from agent.engine import Engine, RulesSource
from agent.holds import conflicts
from agent.ledger import LedgerFiles, read_table, week_of
from agent.lifecycle import Cause, Stage
from agent.pipeline import Org
from agent.pipeline.analyze import index_people
from agent.pseudonym import Pseudonymiser
from agent.simpeople import Act, Behaviour, People, Reaction
from agent.slots import fits_person
from agent.store import MemoryStore, SuggestionRecord
from connectors.base import Connectors, Hold, HoldMode, Interaction, InteractionKind, Person
from connectors.common.errors import BridgeworkError
from connectors.memory import MemoryCalendar, MemoryDirectory, MemoryMail
from rules.model import Rules, Seams

#: A fixed Monday for the demo, so the same seed gives the same run on any day.
DEMO_AS_OF = dt.date(2026, 3, 2)
REPLAY_WEEKS = 6  # the organisation goes on as in its last weeks
LEAD = dt.timedelta(days=14)  # meetings are on calendars this long before they happen
BASELINE_WEEKS = 26  # the seam's share before the drift, as the default rules judge it
CLOSING_WEEKS = 4  # the share a seam ends with: its last weeks pooled
CYCLE_HOUR = 6  # the daemon's daily suggest time (UTC) in the simulation


@dataclass
class OrgData:
    """An organisation as the simulator starts it: people, and what happened until ``as_of``."""

    people: list[Person]
    meetings: list[Interaction]
    messages: list[Interaction]
    as_of: dt.date
    planted: list[tuple[str, str]] | None = None  # the demo's drifting seams


def _read_all(reader: object, people: list[Person]) -> list[Interaction]:
    from connectors.base import Reader

    assert isinstance(reader, Reader)
    return [i for chunk in reader.read(people, {}) for i in chunk.interactions]


def read_org(data: Path, as_of: dt.date | None = None) -> OrgData:
    """A data directory as of ``as_of`` (default: the Monday after its last message).

    :raises BridgeworkError: the directory lists nobody or holds no contact before ``as_of``.
    """
    from connectors.files.calendar import FilesCalendar
    from connectors.files.mail import FilesMail
    from connectors.files.people import FilesDirectory

    people = list(FilesDirectory(data / "people.csv").people())
    if not people:
        raise BridgeworkError(f"{data / 'people.csv'} lists nobody")
    messages = _read_all(FilesMail(data), people)
    if as_of is None:
        if not messages:
            raise BridgeworkError(f"{data} holds no mail to tell where its data ends; give --as-of")
        last = max(m.start for m in messages).date()
        as_of = last + dt.timedelta(days=7 - last.weekday())
    cut = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC)
    calendar = FilesCalendar(data, data / "outbox", horizon=cut)
    meetings = [m for m in _read_all(calendar, people) if not m.cancelled and m.start < cut]
    messages = [m for m in messages if m.start < cut]
    if not meetings and not messages:
        raise BridgeworkError(f"{data} holds no contact before {as_of}")
    return OrgData(people, meetings, messages, as_of)


def demo_org(scratch: Path, people: int, seed: int) -> OrgData:
    """The generated demo organisation (planted drift), as of ``DEMO_AS_OF``."""
    from connectors.demo import generate

    truth = generate(scratch / "demo", people=people, weeks=40, seed=seed, as_of=DEMO_AS_OF)
    org = read_org(scratch / "demo", DEMO_AS_OF)
    org.planted = list(truth.drifting_pairs)
    return org


# --- what the run reports ---------------------------------------------------------------------


@dataclass
class WeekRow:
    week: str  # ISO week
    placed: int = 0
    accepted: int = 0
    met: int = 0
    declined: int = 0
    moved: int = 0
    expired: int = 0
    cancelled: int = 0
    shares: dict[str, float] = field(default_factory=dict)  # seam -> its share this week
    flagged: list[str] = field(default_factory=list)  # seams the week's first cycle found drifting

    def as_json(self) -> dict[str, object]:
        return {"week": self.week, "placed": self.placed, "accepted": self.accepted,
                "met": self.met, "declined": self.declined, "moved": self.moved,
                "expired": self.expired, "cancelled": self.cancelled,
                "shares": {k: round(v, 4) for k, v in self.shares.items()},
                "flagged": self.flagged}


@dataclass(frozen=True)
class SeamOutcome:
    seam: tuple[str, str]
    baseline: float  # share of ties before the drift
    start: float  # over the six weeks before the simulation
    end: float  # over the simulation's last weeks
    planted: bool | None  # None: not known (not the demo)

    @property
    def label(self) -> str:
        return " / ".join(self.seam)

    @property
    def regained(self) -> float | None:
        """The share of what was lost that came back (None when nothing was lost)."""
        lost = self.baseline - self.start
        return None if lost <= 0 else (self.end - self.start) / lost

    def as_json(self) -> dict[str, object]:
        return {"seam": list(self.seam), "baseline": round(self.baseline, 4),
                "start": round(self.start, 4), "end": round(self.end, 4),
                "regained": None if self.regained is None else round(self.regained, 3),
                "planted": self.planted}


@dataclass
class Checks:
    """What must never happen, as counted while the simulation ran."""

    holds_checked: int = 0  # placements and moves looked at
    others_events: int = 0  # events people booked over holds (not ours: never to be touched)
    duplicate_holds: list[str] = field(default_factory=list)
    foreign_writes: list[str] = field(default_factory=list)
    outside_hours: list[str] = field(default_factory=list)
    over_busy: list[str] = field(default_factory=list)
    cap_breaches: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.duplicate_holds or self.foreign_writes or self.outside_hours
                    or self.over_busy or self.cap_breaches)

    def as_json(self) -> dict[str, object]:
        return {"holds_checked": self.holds_checked, "others_events": self.others_events,
                "duplicate_holds": self.duplicate_holds,
                "foreign_writes": self.foreign_writes, "outside_hours": self.outside_hours,
                "over_busy": self.over_busy, "cap_breaches": self.cap_breaches,
                "clean": self.clean}


@dataclass
class Simulation:
    label: str  # the rules file, or "default rules"
    as_of: dt.date
    people: int
    mode: str
    behaviour: Behaviour
    weeks: list[WeekRow]
    seams: list[SeamOutcome]
    checks: Checks
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"rules": self.label, "as_of": self.as_of.isoformat(), "people": self.people,
                "mode": self.mode, "behaviour": self.behaviour.model_dump(),
                "weeks": [w.as_json() for w in self.weeks],
                "seams": [s.as_json() for s in self.seams], "checks": self.checks.as_json(),
                "notes": self.notes}


# --- the simulated world ----------------------------------------------------------------------


class _Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class _Rules(RulesSource):
    """The rules under test, already loaded."""

    def __init__(self, rules: Rules) -> None:
        super().__init__(None)
        self._fixed = rules

    def current(self, departments: list[str] | None = None) -> Rules:
        return self._fixed


def _replayed(items: Sequence[Interaction], first: dt.datetime, end: dt.datetime,
              prefix: str) -> list[Interaction]:
    """The last ``REPLAY_WEEKS`` of ``items`` before ``first``, again and again until ``end``."""
    window = dt.timedelta(weeks=REPLAY_WEEKS)
    recent = [i for i in items if first - window <= i.start < first]
    out = []
    for cycle in itertools.count(1):
        shift = window * cycle
        if first - window + shift >= end:
            break
        out += [replace(i, id=f"{prefix}{cycle}~{i.id}", start=i.start + shift)
                for i in recent if i.start + shift < end]
    return out


class _World:
    """The engine over memory backends, the people, and the checks, hour by hour."""

    def __init__(self, org: OrgData, rules: Rules, weeks: int, behaviour: Behaviour, seed: int,
                 ledger_dir: Path) -> None:
        self.rules = rules
        self.start = dt.datetime.combine(org.as_of, dt.time(), tzinfo=dt.UTC)
        self.end = self.start + dt.timedelta(weeks=weeks)
        self.by_email = {p.email: p for p in org.people}
        self.calendar = MemoryCalendar(org.meetings)
        self.mail = MemoryMail(org.messages)
        self.clock = _Clock(self.start)
        key = hashlib.sha256(f"bridgework-simulate/{seed}".encode()).digest()
        self.ledger = LedgerFiles(ledger_dir, Pseudonymiser(key), rules.signals)
        self.store = MemoryStore()
        self.engine = Engine(Connectors(MemoryDirectory(org.people), self.calendar, self.mail),
                             self.store, self.ledger, self.ledger.pseudonymiser, _Rules(rules),
                             self.clock, digests_enabled=False)
        self.people = People(behaviour, seed)
        self.checks = Checks()
        self._seq = itertools.count()
        self._arrivals: list[tuple[dt.datetime, int, Interaction]] = []
        for item in _replayed(org.meetings, self.start, self.end, "replay"):
            self._arrive(item.start - LEAD, item)
        for item in _replayed(org.messages, self.start, self.end, "replay"):
            self._arrive(item.start, item)
        self._reactions: list[tuple[dt.datetime, int, Reaction]] = []
        self._seen: dict[tuple[str, str], dt.datetime] = {}  # our events and their starts
        self._asked: dict[tuple[frozenset[str], int], set[str]] = defaultdict(set)
        self._kept_in_touch: set[str] = set()
        self._theirs: dict[tuple[str, str], tuple[dt.datetime, dt.datetime]] = {}
        self.org, _ = self.engine.org_and_rules()  # the directory does not change during the run
        #: The seams the first cycle found drifting: the ones the run follows.
        self.first_drifting: list[tuple[str, str]] | None = None
        self.flagged: dict[str, list[str]] = {}  # ISO week -> seams drifting on its Monday

    def _arrive(self, at: dt.datetime, item: Interaction) -> None:
        heapq.heappush(self._arrivals, (at, next(self._seq), item))

    # --- the hour's events --------------------------------------------------------------
    def _deliver(self) -> None:
        now = self.clock.now
        while self._arrivals and self._arrivals[0][0] <= now:
            _, _, item = heapq.heappop(self._arrivals)
            if item.kind is InteractionKind.MEETING:
                self.calendar.add_meeting(item)
            else:
                self.mail.add(item)
        while self._reactions and self._reactions[0][0] <= now:
            _, _, reaction = heapq.heappop(self._reactions)
            self._do(reaction)

    def _do(self, reaction: Reaction) -> None:
        key = next((k for k in self._seen if k[1] == reaction.hold_id), None)
        event = self.calendar.events.get(key) if key else None
        if event is None or event.start <= self.clock.now:
            return  # released, or already under way
        hold = Hold(event.id, event.owner, event.attendees, event.start, event.end, "", "")
        if reaction.act is Act.CONFLICT:
            # something of their own, over the hold: an event Bridgework did not create
            key = (reaction.email, f"sim-busy-{next(self._seq)}")
            span = (event.start - dt.timedelta(minutes=15), event.start + dt.timedelta(minutes=30))
            self.calendar.add_foreign_event(*key, *span)
            self._theirs[key] = span
            self.checks.others_events += 1
        elif reaction.response is not None:
            self.calendar.respond(hold, reaction.email, reaction.response)

    # --- watching what the engine did ---------------------------------------------------
    def _record(self, hold_id: str) -> SuggestionRecord | None:
        return self.store.state.suggestions.get(hold_id)

    def _observe(self) -> None:
        now = self.clock.now
        ours = {k: ev for k, ev in self.calendar.events.items()
                if ev.mark is not None and ev.mark == f"hold/{k[1]}"}
        for key, event in ours.items():
            before = self._seen.get(key)
            if before == event.start:
                continue
            self._seen[key] = event.start
            record = self._record(key[1])
            if record is None:
                self.checks.duplicate_holds.append(f"{key[1]}: on a calendar with no record")
                continue
            emails = [self.org.by_pseudonym[p] for p in record.people]
            self._check_slot(key[1], emails, event.start, event.end)
            if before is None:
                asked = self._asked[(frozenset(emails), record.week)]
                asked.add(key[1])
                if len(asked) > 1:
                    self.checks.duplicate_holds.append(f"{', '.join(sorted(emails))}: "
                                                       f"{len(asked)} holds in week {record.week}")
                invitees = [e for e in emails if e != event.owner]
                for reaction in self.people.react(key[1], invitees, event.start, now):
                    heapq.heappush(self._reactions, (reaction.at, next(self._seq), reaction))
        for what, owner, event_id, mark in self.calendar.writes:
            if mark != f"hold/{event_id}":
                self.checks.foreign_writes.append(f"{what} {owner}/{event_id}")
        self.calendar.writes.clear()
        self._keep_in_touch()

    def _check_slot(self, hold_id: str, emails: list[str], start: dt.datetime,
                    end: dt.datetime) -> None:
        self.checks.holds_checked += 1
        meetings = self.rules.meetings
        for email in emails:
            if not fits_person(self.by_email[email], start, end, meetings):
                self.checks.outside_hours.append(f"{hold_id}: {start:%Y-%m-%d %H:%M} for {email}")
        busy = self.calendar.busy(emails, start, end)
        if conflicts(dict(busy), start, end):
            self.checks.over_busy.append(f"{hold_id}: {start:%Y-%m-%d %H:%M}")

    def _keep_in_touch(self) -> None:
        """Pairs who just met may go on writing for the rest of the run."""
        org = self.org
        for record in self.store.state.suggestions.values():
            if record.status is not Stage.MET or record.id in self._kept_in_touch:
                continue
            self._kept_in_touch.add(record.id)
            if len(record.people) != 2 or not self.people.keeps_in_touch():
                continue
            a, b = (org.by_pseudonym[p] for p in record.people)
            monday = self.clock.now - dt.timedelta(days=self.clock.now.weekday())
            monday = monday.replace(hour=0, minute=0, second=0, microsecond=0)
            while (monday := monday + dt.timedelta(weeks=1)) < self.end:
                for k, when in enumerate(self.people.messages_in_week(monday)):
                    sender, to = (a, b) if k % 2 == 0 else (b, a)
                    self._arrive(when, Interaction(f"<touch-{next(self._seq)}@simulate>",
                                                   InteractionKind.EMAIL, when, (sender, to), 1))

    # --- the run ------------------------------------------------------------------------
    def run(self, progress: Callable[[str], None]) -> None:
        hour = dt.timedelta(hours=1)
        while self.clock.now < self.end:
            self._deliver()
            if self.clock.now.hour == CYCLE_HOUR:
                report = self.engine.run_once()
                if self.first_drifting is None:
                    self.first_drifting = list(report.analysis.drifting)
                self.flagged.setdefault(f"{self.clock.now:%G-W%V}",
                                        [" / ".join(p) for p in report.analysis.drifting])
                if self.clock.now.weekday() == 0:
                    progress(f"simulating {self.clock.now:%G-W%V}")
            else:
                self.engine.upkeep()
            self._observe()
            self.clock.now += hour
        self.engine.sync()  # the last days' contact into the ledger
        for key, span in self._theirs.items():  # their own events, exactly as they left them
            event = self.calendar.events.get(key)
            if event is None or (event.start, event.end) != span:
                self.checks.foreign_writes.append(f"{key[0]}/{key[1]} changed")


# --- measures -----------------------------------------------------------------------------


def _ties_by_week(ledger: LedgerFiles, org: Org, first: int, last: int) -> tuple[np.ndarray, list[str]]:
    """Distinct person-to-person ties per week and department pair, ``[week, dept, dept]``."""
    table = read_table(ledger, first, last)
    dept_of, _ = index_people(ledger, org)
    departments = org.departments
    return seam_weeks(table, dept_of, len(departments), Seams()).ties, departments  # ties: no setting


def _share(ties: np.ndarray, weeks: slice, a: int, b: int) -> float:
    """A seam's ties over the two departments' ties (each pair of people once), pooled."""
    part = ties[weeks]
    totals = part.sum(axis=2)
    seam = part[:, a, b].sum()
    exposure = totals[:, a].sum() + totals[:, b].sum() - seam
    return float(seam / exposure) if exposure > 0 else 0.0


def _week_rows(records: Iterable[SuggestionRecord], start: dt.datetime, weeks: int) -> list[WeekRow]:
    rows = [WeekRow(f"{start + dt.timedelta(weeks=k):%G-W%V}") for k in range(weeks)]
    counted = {Stage.HELD: "placed", Stage.ACCEPTED: "accepted", Stage.MET: "met",
               Stage.DECLINED: "declined", Stage.MOVED: "moved", Stage.EXPIRED: "expired",
               Stage.CANCELLED: "cancelled"}
    for record in records:
        for t in record.transitions:
            name = counted.get(t.stage)
            if name is None or t.cause in (Cause.RESCHEDULED, Cause.UNINSTALL, Cause.RELEASED,
                                           Cause.MEMBER_DECLINED):
                continue  # not a new stage: the same one noted again
            k = (dt.datetime.fromisoformat(t.at) - start) // dt.timedelta(weeks=1)
            if 0 <= k < weeks:
                setattr(rows[k], name, getattr(rows[k], name) + 1)
    return rows


def _cap_breaches(records: Sequence[SuggestionRecord], org: Org, rules: Rules) -> list[str]:
    pairing = rules.pairing
    asked = [r for r in records if r.status is not Stage.SUGGESTED]
    per_week: Counter[tuple[str, int]] = Counter()
    per_seam: Counter[tuple[frozenset[str], int]] = Counter()
    created: dict[str, list[dt.datetime]] = defaultdict(list)
    for r in asked:
        for p in r.people:
            per_week[(p, r.week)] += 1
            created[p].append(dt.datetime.fromisoformat(r.created))
        if r.reason != "peer-circle":
            per_seam[(frozenset(r.departments), r.week)] += 1
    out = [f"{org.by_pseudonym.get(p, p)}: {n} in week {w}" for (p, w), n in per_week.items()
           if n > pairing.per_person_per_week]
    out += [f"{' / '.join(sorted(s))}: {n} in week {w}" for (s, w), n in per_seam.items()
            if n > pairing.per_seam_per_week]
    month = dt.timedelta(days=28)
    for p, days in created.items():
        days.sort()
        for i, day in enumerate(days):
            within = sum(1 for d in days[: i + 1] if d.date() > (day - month).date())
            if within > pairing.per_person_per_month:
                out.append(f"{org.by_pseudonym.get(p, p)}: {within} in the 4 weeks to {day:%Y-%m-%d}")
                break
    return out


def simulate(org: OrgData, rules: Rules, weeks: int, behaviour: Behaviour, seed: int,
             scratch: Path, label: str = "default rules",
             progress: Callable[[str], None] = lambda _: None) -> Simulation:
    """Run the engine over ``weeks`` simulated weeks of ``org`` under ``rules``."""
    notes = []
    if rules.meetings.mode is HoldMode.SUGGEST:
        notes.append("the rules' mode is suggest (nothing on calendars); simulated as invite")
        rules = rules.model_copy(update={"meetings": rules.meetings.model_copy(
            update={"mode": HoldMode.INVITE})})
    world = _World(org, rules, weeks, behaviour, seed, scratch / "ledger")
    world.run(progress)
    records = world.store.suggestions()
    engine_org = world.org
    world.checks.cap_breaches = _cap_breaches(records, engine_org, rules)
    first = week_of(world.start) - REPLAY_WEEKS - BASELINE_WEEKS
    ties, departments = _ties_by_week(world.ledger, engine_org, first,
                                      week_of(world.start) + weeks - 1)
    offset = REPLAY_WEEKS + BASELINE_WEEKS  # index of the simulation's first week
    rows = _week_rows(records, world.start, weeks)
    for row in rows:
        row.flagged = world.flagged.get(row.week, [])
    planted = {frozenset(p) for p in org.planted} if org.planted is not None else None
    seams = []
    for pair in world.first_drifting or []:
        a, b = departments.index(pair[0]), departments.index(pair[1])
        label_of = " / ".join(pair)
        for k, row in enumerate(rows):
            row.shares[label_of] = _share(ties, slice(offset + k, offset + k + 1), a, b)
        seams.append(SeamOutcome(
            pair, baseline=_share(ties, slice(0, BASELINE_WEEKS), a, b),
            start=_share(ties, slice(BASELINE_WEEKS, offset), a, b),
            end=_share(ties, slice(offset + weeks - min(CLOSING_WEEKS, weeks), offset + weeks), a, b),
            planted=None if planted is None else frozenset(pair) in planted))
    if planted is not None:
        missed = sorted(" / ".join(sorted(p)) for p in planted - {frozenset(s.seam) for s in seams})
        if missed:
            notes.append("planted but not flagged at the start: " + ", ".join(missed))
    return Simulation(label, org.as_of, len(org.people), rules.meetings.mode.value, behaviour,
                      rows, seams, world.checks, notes)

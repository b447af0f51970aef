"""The rules an admin writes, as strict pydantic models.

Every section has defaults that make a sensible first run, so an empty rules
file is valid. Unknown keys are errors. Human forms are accepted where people
write them: durations like ``30m`` or ``1h30m``, hours like ``10:00-16:00``,
weekdays by name.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from connectors.base import HoldMode

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$", re.I)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except Exception:
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


#: An IANA time zone name such as Europe/London (the config file uses it too).
TimeZone = Annotated[str, AfterValidator(_known_zone)]


def _parse_duration(value: Any) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30m, 1h or 1h30m")
    if isinstance(value, int):
        return dt.timedelta(minutes=value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m and any(m.groups()):
            days, hours, minutes = (int(g) if g else 0 for g in m.groups())
            return dt.timedelta(days=days, hours=hours, minutes=minutes)
    raise ValueError(f"expected a duration like 30m, 1h or 1h30m, got {value!r}")


def _format_duration(value: dt.timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")


Duration = Annotated[
    dt.timedelta,
    BeforeValidator(_parse_duration),
    PlainSerializer(_format_duration, return_type=str),
    WithJsonSchema({
        "anyOf": [
            {"type": "string", "pattern": r"^\s*(\d+\s*d)?\s*(\d+\s*h)?\s*(\d+\s*m)?\s*$"},
            {"type": "integer", "minimum": 0, "description": "minutes"},
        ],
        "examples": ["30m", "1h", "1h30m"],
    }),
]


def _parse_weekday(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value  # already parsed (defaults, model_copy)
    if isinstance(value, str):
        name = value.strip().lower()
        for index, day in enumerate(WEEKDAYS):
            if len(name) >= 3 and day.startswith(name):
                return index
    raise ValueError(f"expected a weekday name such as monday, got {value!r}")


Weekday = Annotated[
    int,
    BeforeValidator(_parse_weekday),
    PlainSerializer(lambda d: WEEKDAYS[d], return_type=str),
    WithJsonSchema({"type": "string", "enum": list(WEEKDAYS)}),
]


def parse_clock(text: str) -> dt.time:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59:
        raise ValueError(f"expected a time like 09:30, got {text!r}")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour == 24:
        if minute:
            raise ValueError(f"expected a time like 09:30, got {text!r}")
        return dt.time(23, 59, 59)
    return dt.time(hour, minute)


class TimeRange(Strict):
    start: dt.time
    end: dt.time

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError(
                f"the range ends ({self.end:%H:%M}) before it starts ({self.start:%H:%M})"
            )
        return self

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _parse_range(value: Any) -> Any:
    if isinstance(value, str):
        if "-" not in value:
            raise ValueError(f"expected hours like 10:00-16:00, got {value!r}")
        start, end = value.split("-", 1)
        return {"start": parse_clock(start), "end": parse_clock(end)}
    return value


Hours = Annotated[
    TimeRange,
    BeforeValidator(_parse_range),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({
        "type": "string",
        "pattern": r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$",
        "examples": ["10:00-16:00"],
    }),
]

def _parse_pair(value: Any) -> Any:
    if isinstance(value, str) and "/" in value:
        value = [part.strip() for part in value.split("/")]
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"expected two department names like [Legal, Trading], got {value!r}")
    if all(isinstance(v, str) for v in value) and value[0].strip() == value[1].strip():
        raise ValueError(f"a department cannot pair with itself ({value[0]!r})")
    return value


DepartmentPair = Annotated[
    tuple[str, str],
    BeforeValidator(_parse_pair),
    WithJsonSchema({
        "anyOf": [
            {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
            {"type": "string", "pattern": "^[^/]+/[^/]+$"},
        ],
        "examples": [["Legal", "Trading"], "Legal / Trading"],
    }),
    Field(description="two department names, as [A, B] or 'A / B'"),
]


def _parse_email(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().lower()
        if "@" not in value or value.startswith("@") or value.endswith("@"):
            raise ValueError(f"expected an e-mail address, got {value!r}")
    return value


#: An e-mail address, compared without regard to case (directories lower-case them).
Email = Annotated[
    str, BeforeValidator(_parse_email), WithJsonSchema({"type": "string", "format": "email"})
]


def _parse_levels(value: Any) -> Any:
    """A list of level names from the lowest up becomes names numbered 1, 2, 3, ..."""
    if isinstance(value, list | tuple):
        if not all(isinstance(name, str) for name in value):
            raise ValueError(f"expected level names from the lowest up, like [Junior, Senior], "
                             f"got {value!r}")
        return {name: number for number, name in enumerate(value, 1)}
    return value


def _check_levels(levels: dict[str, int]) -> dict[str, int]:
    seen: dict[str, str] = {}
    for name, number in levels.items():
        key = name.strip().casefold()
        if not key:
            raise ValueError("a level name is empty")
        if key.lstrip("-").isdigit():
            raise ValueError(f"level {name!r} is a number already; map only names")
        if key in seen:
            raise ValueError(f"level {name!r} is listed twice (as {seen[key]!r})")
        if number < 0:
            raise ValueError(f"level {name!r}: {number} is negative")
        seen[key] = name
    return levels


#: Level names and their numbers, compared without regard to case.
Levels = Annotated[
    dict[str, int],
    BeforeValidator(_parse_levels),
    AfterValidator(_check_levels),
    WithJsonSchema({
        "anyOf": [
            {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
            {"type": "array", "items": {"type": "string"}},
        ],
        "examples": [{"Junior": 1, "Senior": 3}, ["Junior", "Senior", "Principal"]],
    }),
]


class Window(NamedTuple):
    """The weeks one department pair is judged on: the recent ones and the baseline before."""

    recent_weeks: int
    baseline_weeks: int

    @property
    def weeks(self) -> int:
        """Weeks of ledger the pair reads."""
        return self.recent_weeks + self.baseline_weeks


class SeamRule(Strict):
    """Thresholds for one named department pair, overriding the defaults."""

    departments: DepartmentPair
    drop: float | None = Field(None, gt=0, lt=1, description="relative drop that counts as drift")
    recent_weeks: int | None = Field(None, ge=1, le=26, description="weeks in the recent window")
    baseline_weeks: int | None = Field(
        None, ge=2, le=104, description="weeks in the baseline window"
    )
    min_volume: float | None = Field(
        None, ge=0, description="least baseline contact to judge this pair"
    )


_DEFAULTS = "seams (defaults)"


def _pair_label(a: str, b: str) -> str:
    return f"seams.pairs {a} / {b}"


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("a name is empty")
    return value


GroupName = Annotated[str, AfterValidator(_name)]


def _some_member(members: list[str]) -> list[str]:
    if not members:
        raise ValueError("the group lists no department")
    return members


Members = Annotated[list[GroupName], AfterValidator(_some_member)]


class GroupClash(NamedTuple):
    """A department two groups claim, or a group named like another group's department."""

    group: str
    member: int | None  # the place in the group's list; None when the group's name clashes
    message: str


def group_clashes(groups: dict[str, list[str]]) -> list[GroupClash]:
    """Every way ``departments.groups`` fails to give each department one group."""
    out: list[GroupClash] = []
    owner: dict[str, str] = {}
    for group, members in groups.items():
        for index, member in enumerate(members):
            if member in owner:
                where = "twice" if owner[member] == group else f"in {owner[member]!r} too"
                out.append(GroupClash(group, index, f"department {member!r} is listed {where}; "
                                      "a department belongs to one group"))
            else:
                owner[member] = group
    for group in groups:
        if owner.get(group, group) != group:
            out.append(GroupClash(group, None, f"{group!r} is a group and also a department of "
                                  f"the group {owner[group]!r}"))
    return out


class Departments(Strict):
    """Departments the directory names, merged into the groups the rules analyse and pair."""

    groups: dict[GroupName, Members] = Field(
        default_factory=dict,
        description="group name to the directory's departments it takes in, like "
        "{Engineering: [Backend, Frontend]}. A grouped department is that group everywhere: "
        "seams, pairing, digests and the department names of these rules. A department listed "
        "in no group stays itself",
    )

    @field_validator("groups")
    @classmethod
    def _one_group_each(cls, groups: dict[str, list[str]]) -> dict[str, list[str]]:
        for problem in group_clashes(groups):
            raise ValueError(problem.message)
        return groups

    def group_of(self, department: str) -> str:
        """The name a directory department goes by under these rules."""
        for group, members in self.groups.items():
            if department in members:
                return group
        return department


class Seams(Strict):
    """Which department pairs are watched, and when one counts as drifting."""

    drop: float = Field(
        0.30, gt=0, lt=1,
        description="relative fall that counts as drift, over the recent weeks or their last half",
    )
    recent_weeks: int = Field(6, ge=1, le=26, description="weeks in the recent window")
    baseline_weeks: int = Field(26, ge=2, le=104, description="weeks in the baseline window")
    min_volume: float = Field(
        20.0, ge=0, description="least baseline contact (meeting-hour equivalents) to judge a pair"
    )
    false_discovery_rate: float = Field(
        0.05, gt=0, lt=1, description="share of flagged pairs allowed to be false alarms"
    )
    intensity_cap: float = Field(
        1.0, gt=0, description="most contact one pair of people adds to a seam's "
        "contact-per-tie, contact and messages-per-mail-tie signals in a week (meeting-hour "
        "equivalents; a message is `signals.mail_weight`)"
    )
    strong_tie: float = Field(
        0.15, gt=0, description="contact above which a pair of people's week counts towards "
        "the seam's ties with more than a message (all its contact; its mail alone for the "
        "mail ties) (meeting-hour equivalents; the default is one and a half one-to-one "
        "messages at the default `signals.mail_weight`)"
    )
    pairs: list[SeamRule] = Field(default_factory=list, description="named pairs with own limits")
    ignore_pairs: list[DepartmentPair] = Field(
        default_factory=list, description="department pairs never flagged"
    )
    ignore_departments: list[str] = Field(
        default_factory=list, description="departments whose seams are never flagged"
    )

    @field_validator("pairs")
    @classmethod
    def _no_duplicate_pairs(cls, pairs: list[SeamRule]) -> list[SeamRule]:
        seen: set[frozenset[str]] = set()
        for rule in pairs:
            key = frozenset(rule.departments)
            if key in seen:
                raise ValueError(f"the pair {' / '.join(rule.departments)} is listed twice")
            seen.add(key)
        return pairs

    @model_validator(mode="after")
    def _named_not_ignored(self) -> Seams:
        ignored = {frozenset(pair) for pair in self.ignore_pairs}
        for rule in self.pairs:
            a, b = rule.departments
            if frozenset(rule.departments) in ignored:
                raise ValueError(f"the pair {a} / {b} is both named in pairs and in ignore_pairs")
            for name in (a, b):
                if name in self.ignore_departments:
                    raise ValueError(
                        f"the pair {a} / {b} is named in pairs but {name} is in ignore_departments"
                    )
        return self

    def ignores(self, a: str, b: str) -> bool:
        """Whether the seam between two departments is never flagged."""
        if a in self.ignore_departments or b in self.ignore_departments:
            return True
        return any(set(pair) == {a, b} for pair in self.ignore_pairs)

    def rule_for(self, a: str, b: str) -> SeamRule | None:
        """The named pair rule for two departments, in either order, if there is one."""
        for rule in self.pairs:
            if set(rule.departments) == {a, b}:
                return rule
        return None

    def _setting(self, a: str, b: str, name: str) -> tuple[Any, str]:
        """One setting for a pair, and where it comes from: the pair's rule when it sets it."""
        rule = self.rule_for(a, b)
        value = getattr(rule, name) if rule is not None else None
        if value is None:
            return getattr(self, name), _DEFAULTS
        return value, _pair_label(a, b)

    def window_for(self, a: str, b: str) -> Window:
        """The recent and baseline weeks the pair is judged on."""
        recent, _ = self._setting(a, b, "recent_weeks")
        baseline, _ = self._setting(a, b, "baseline_weeks")
        return Window(recent, baseline)

    def drop_for(self, a: str, b: str) -> float:
        """The relative fall in share that counts as drift for the pair."""
        value: float = self._setting(a, b, "drop")[0]
        return value

    def min_volume_for(self, a: str, b: str) -> float:
        """The least baseline contact for the pair to be judged at all."""
        value: float = self._setting(a, b, "min_volume")[0]
        return value

    def source_of(self, a: str, b: str, name: str) -> str:
        """Where the pair's ``name`` setting is written: its own rule or the defaults."""
        return self._setting(a, b, name)[1]

    def label_for(self, a: str, b: str) -> str:
        """The rule a pair is judged under, as reports name it."""
        return _pair_label(a, b) if self.rule_for(a, b) else _DEFAULTS

    def longest_window(self) -> int:
        """The most weeks any pair reads: what the ledger must keep, and what analysis reads."""
        return self.widest_pair()[0]

    def widest_pair(self) -> tuple[int, SeamRule | None]:
        """The longest window and the named pair that needs it (None when the defaults do).

        A pair that sets only one of its windows takes the other from the
        defaults, so its span can exceed both the defaults' and its own.
        """
        longest, culprit = Window(self.recent_weeks, self.baseline_weeks).weeks, None
        for rule in self.pairs:
            weeks = self.window_for(*rule.departments).weeks
            if weeks > longest:
                longest, culprit = weeks, rule
        return longest, culprit


class Signals(Strict):
    """How raw metadata becomes contact weight."""

    mail_weight: float = Field(
        0.1, ge=0, description="contact weight of one message, in meeting-hour equivalents"
    )
    broadcast_size: int = Field(25, ge=2, description="events or mails with more people ignored")
    lapsed_min_weight: float = Field(
        1.0, ge=0, description="least baseline contact for a tie to count as real"
    )
    lapsed_min_weeks: int = Field(3, ge=1, description="least baseline weeks with contact")


class Participants(Strict):
    """Who takes part in suggestions."""

    levels: Levels = Field(
        default_factory=dict,
        description="level names as numbers, like {Junior: 1, Senior: 3}, or a list of names "
        "from the lowest up ([Junior, Senior] is 1, 2); a directory may then write levels by "
        "name. Unmapped names count as an unknown level",
    )
    include_departments: list[str] = Field(
        default_factory=list, description="only these departments take part; empty means all"
    )
    exclude_departments: list[str] = Field(
        default_factory=list, description="departments that never take part"
    )
    include_levels: list[int] = Field(
        default_factory=list, description="only these levels take part; empty means all"
    )
    exclude_levels: list[int] = Field(
        default_factory=list, description="levels that never take part"
    )
    exclude_titles: list[str] = Field(
        default_factory=list,
        description="regular expressions; a title matching one (anywhere, any case) is left out",
    )
    include_people: list[Email] = Field(
        default_factory=list, description="e-mails always eligible, whatever the other filters say"
    )
    exclude_people: list[Email] = Field(default_factory=list, description="e-mails never suggested")
    managers_only: bool = Field(
        False, description="only people who manage someone in the directory take part"
    )
    opt_out: list[Email] = Field(
        default_factory=list,
        description="e-mails who never take part (added to the opt-outs kept in the store)",
    )

    @field_validator("exclude_titles")
    @classmethod
    def _valid_patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad title pattern {pattern!r}: {exc}") from None
        return patterns

    @model_validator(mode="after")
    def _no_contradictions(self) -> Participants:
        checks: tuple[tuple[str, list[Any], str, list[Any]], ...] = (
            ("include_departments", self.include_departments,
             "exclude_departments", self.exclude_departments),
            ("include_levels", self.include_levels, "exclude_levels", self.exclude_levels),
            ("include_people", self.include_people, "exclude_people", self.exclude_people),
        )
        for in_name, included, out_name, excluded in checks:
            both = sorted(set(included) & set(excluded), key=str)
            if both:
                listed = ", ".join(map(str, both))
                verb = "is" if len(both) == 1 else "are"
                raise ValueError(f"{out_name}: {listed} {verb} also in {in_name}")
        return self


class Circles(Strict):
    """Peer circles: a few same-level people, each from a different department."""

    enabled: bool = Field(False, description="form peer circles as well as pairs")
    size: int = Field(5, ge=4, le=6, description="people in one circle")
    cadence_weeks: int = Field(4, ge=1, le=26, description="weeks between a circle's meetings")
    same_level: bool = Field(True, description="everyone in a circle has the same level")
    season_weeks: int = Field(
        12, ge=1, le=52, description="weeks a circle keeps its members; then they are rotated"
    )


class Declines(Strict):
    """How declining lowers how often a person is asked, and how that wears off."""

    step: float = Field(
        0.5, ge=0, le=1, description="how much one fresh decline lowers how often that person is "
        "asked (0.5: half as often)"
    )
    floor: float = Field(
        0.25, gt=0, le=1, description="the least share of the usual asks a person who declines keeps"
    )
    recovery_weeks: int = Field(
        8, ge=1, le=52, description="weeks after which a decline weighs half as much"
    )


class Pairing(Strict):
    """Who is paired with whom, and how often."""

    reconnect_first: bool = Field(
        True, description="prefer lapsed ties (people who used to talk) over strangers"
    )
    same_level_first: bool = Field(True, description="prefer people of the same level")
    max_level_distance: int = Field(
        2, ge=0, description="largest level difference within a pair (unknown levels always fit)"
    )
    cooldown_weeks: int = Field(
        12, ge=0, description="weeks before the same pair is suggested again"
    )
    pause_weeks: int = Field(
        4, ge=1, le=26, description="weeks a person who asks for a pause (\"not now\", a mail "
        "to digest.pause_address) gets no new suggestions; what they accepted stays"
    )
    per_person_per_week: int = Field(1, ge=0, description="most suggestions one person gets a week")
    per_person_per_month: int = Field(
        2, ge=0, description="most suggestions one person gets in four weeks"
    )
    per_seam_per_week: int = Field(5, ge=0, description="suggestions per drifting seam per week")
    circles: Circles = Field(default_factory=Circles)
    declines: Declines = Field(default_factory=Declines)
    repair_weeks: int = Field(
        26, ge=0, le=104, description="weeks a flagged seam keeps its suggestions while its share "
        "(of ties, or of people or conversations when that signal flagged it) stays lower, by the "
        "seam's drop, than when it was flagged; 0: only while the detector flags it"
    )

    @model_validator(mode="after")
    def _caps_agree(self) -> Pairing:
        if self.per_person_per_month < self.per_person_per_week:
            raise ValueError(
                f"per_person_per_month ({self.per_person_per_month}) is smaller than "
                f"per_person_per_week ({self.per_person_per_week})"
            )
        return self


#: Names that may appear in braces in meetings.title and meetings.agenda.
PLACEHOLDERS = ("a_first", "b_first", "a_name", "b_name", "a_department", "b_department", "prompts")

DEFAULT_PROMPTS = (
    "What is your team working on that mine should know about?",
    "Where do our two departments get in each other's way?",
    "What would you ask my department for if it were easy?",
)


class Meetings(Strict):
    """What a suggested meeting looks like and when it may happen."""

    mode: HoldMode = Field(
        HoldMode.SUGGEST,
        description="suggest: digest only; hold: tentative hold for the organiser; "
        "invite: the hold invites both people",
    )
    duration: Duration = Field(
        dt.timedelta(minutes=30), description="length of a meeting, like 30m or 1h"
    )
    title: str = Field(
        "Get to know you: {a_first} ({a_department}) and {b_first} ({b_department})",
        description="event title; placeholders {a_first} {b_first} {a_name} {b_name} "
        "{a_department} {b_department}",
    )
    agenda: str = Field(
        "A short conversation between {a_department} and {b_department}, "
        "suggested by Bridgework.\n\n{prompts}",
        description="event description; the same placeholders plus {prompts}",
    )
    prompts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PROMPTS),
        description="open conversation prompts listed where {prompts} appears",
    )
    days: list[Weekday] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4], description="weekdays meetings may fall on"
    )
    hours: Hours = Field(
        default_factory=lambda: TimeRange(start=dt.time(10), end=dt.time(16)),
        description="local hours meetings must fit in, for both people, like 10:00-16:00",
    )
    no_meeting_days: list[Weekday] = Field(
        default_factory=list, description="weekdays never used, even if listed in days"
    )
    buffer: Duration = Field(
        dt.timedelta(minutes=10), description="free time kept before and after other meetings"
    )
    horizon_days: int = Field(10, ge=1, le=30, description="working days ahead to look for a slot")
    release_unanswered: Duration = Field(
        dt.timedelta(hours=2), description="a hold nobody answered is released this long before "
        "it starts, like 2h or 1d"
    )
    video: bool = Field(False, description="ask the calendar to add a video link")

    @field_validator("duration")
    @classmethod
    def _sensible_length(cls, value: dt.timedelta) -> dt.timedelta:
        if not dt.timedelta(minutes=5) <= value <= dt.timedelta(hours=4):
            raise ValueError(
                f"a meeting of {_format_duration(value)} is not between 5m and 4h"
            )
        return value

    @field_validator("buffer")
    @classmethod
    def _sensible_buffer(cls, value: dt.timedelta) -> dt.timedelta:
        if value > dt.timedelta(hours=2):
            raise ValueError(f"a buffer of {_format_duration(value)} is more than 2h")
        return value

    @field_validator("release_unanswered")
    @classmethod
    def _sensible_release(cls, value: dt.timedelta) -> dt.timedelta:
        if value > dt.timedelta(days=7):
            raise ValueError(f"releasing {_format_duration(value)} before the start is more than 7d")
        return value

    @field_validator("prompts")
    @classmethod
    def _prompts_have_text(cls, prompts: list[str]) -> list[str]:
        if any(not p.strip() for p in prompts):
            raise ValueError("a prompt is empty")
        return prompts

    @field_validator("title", "agenda")
    @classmethod
    def _known_placeholders(cls, text: str) -> str:
        known = set(PLACEHOLDERS)
        for name in re.findall(r"{(\w*)}", text):
            if name not in known:
                raise ValueError(
                    f"unknown placeholder {{{name}}}; known: {', '.join(sorted(known))}"
                )
        return text

    @model_validator(mode="after")
    def _some_day_left(self) -> Meetings:
        if not set(self.days) - set(self.no_meeting_days):
            raise ValueError("no day is left for meetings once no_meeting_days are removed")
        slot = dt.datetime.combine(dt.date.min, self.hours.end) - dt.datetime.combine(
            dt.date.min, self.hours.start
        )
        if slot < self.duration:
            raise ValueError(
                f"meetings of {_format_duration(self.duration)} do not fit in {self.hours}"
            )
        return self


Audience = Literal["person", "manager", "admin"]
AUDIENCES: tuple[Audience, ...] = ("person", "manager", "admin")


class Digests(Strict):
    """The weekly digest e-mails."""

    audiences: list[Audience] = Field(
        default_factory=lambda: list(AUDIENCES),
        description="who gets a digest: person, manager, admin",
    )
    day: Weekday = Field(0, description="weekday digests go out")
    time: str = Field("08:00", description="local time digests go out, like 08:00")
    timezone: TimeZone = Field("UTC", description="time zone of day and time, like Europe/London")
    admins: list[Email] = Field(default_factory=list, description="who gets the admin digest")

    @field_validator("time")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value



class Privacy(Strict):
    """What is kept, and how small a group may be shown to others."""

    min_group_size: int = Field(
        5, ge=2, description="least people behind any figure shown to others"
    )
    retention_weeks: int = Field(
        60, ge=8, description="weeks of ledger kept; at least the recent plus baseline weeks of "
        "every pair, a pair's unset window counted as in seams",
    )


class Rules(Strict):
    """The whole rules file."""

    extends: str | None = Field(None, description="a shipped preset to build on")
    departments: Departments = Field(default_factory=Departments)
    seams: Seams = Field(default_factory=Seams)
    signals: Signals = Field(default_factory=Signals)
    participants: Participants = Field(default_factory=Participants)
    pairing: Pairing = Field(default_factory=Pairing)
    meetings: Meetings = Field(default_factory=Meetings)
    digests: Digests = Field(default_factory=Digests)
    privacy: Privacy = Field(default_factory=Privacy)

    @model_validator(mode="after")
    def _retention_covers_windows(self) -> Rules:
        seams = self.seams
        longest, culprit = seams.widest_pair()
        kept = self.privacy.retention_weeks
        if kept >= longest:
            return self
        if culprit is None:
            raise ValueError(f"privacy.retention_weeks ({kept}) is shorter than the analysed "
                             f"windows ({longest} weeks)")
        a, b = culprit.departments
        window = seams.window_for(a, b)
        settings = " and ".join(
            f"{name} {getattr(window, name)}"
            + (" from the defaults" if getattr(culprit, name) is None else "")
            for name in ("recent_weeks", "baseline_weeks")
        )
        # naming the pair by index lets the loader point at it when retention is not in the file
        raise ValueError(
            f"privacy.retention_weeks ({kept}) is shorter than the analysed windows ({longest} "
            f"weeks: seams.pairs[{seams.pairs.index(culprit)}] {a} / {b} has {settings})"
        )

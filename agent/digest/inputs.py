"""What a week's digests are made of: plain data, gathered by the pipeline's digest step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agent.calibrate import Calibration
from agent.digest.contact import ContactSeries
from agent.drift import PersonTrend, SeamResult
from agent.store import SuggestionRecord
from connectors.base import Person
from rules.model import Rules


@dataclass(frozen=True)
class SourceHealth:
    """One connector as the admin digest reports it."""

    name: str  # directory, calendar, mail, sender
    backend: str  # e.g. google, microsoft, files
    last_sync: dt.datetime | None
    problems: int = 0  # bad rows or events skipped so far
    error: str | None = None  # the last failure, if the source failed


@dataclass(frozen=True)
class DigestInput:
    """What the digests are made of, with people resolved to e-mails.

    ``records`` are the suggestions of the last weeks with their people's
    e-mails, organiser first. ``contact`` carries the week-by-week figures
    the charts draw; without it the digests still say everything in words.
    """

    today: dt.date
    people: Mapping[str, Person]
    seams: Sequence[SeamResult]
    trends: Mapping[str, PersonTrend]
    lapsed: Sequence[tuple[str, str, float]]
    records: Sequence[tuple[SuggestionRecord, tuple[str, ...]]]
    excluded: Mapping[str, str]
    rules: Rules
    rules_error: Sequence[str] = ()
    sender: str | None = None
    opt_out_address: str | None = None
    contact: ContactSeries | None = None
    now: dt.datetime | None = None
    health: Sequence[SourceHealth] = ()
    calibration: Calibration | None = None
    too_thin: Mapping[tuple[str, str], float] | None = None
    pause_address: str | None = None
    #: People who asked for a pause ("not now"), with when it ends.
    paused: Mapping[str, dt.datetime] = field(default_factory=dict)

    @property
    def moment(self) -> dt.datetime:
        """When the digest is written (noon UTC of ``today`` when no clock time was given)."""
        return self.now or dt.datetime.combine(self.today, dt.time(12), tzinfo=dt.UTC)

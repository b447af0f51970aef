"""Digests: gather the week's facts, compose the messages, send each one at most once.

Composition (``agent.digest``) is pure; this step gathers its input from
the analysis, the ledger and the store, and delivers. Digests go out on
the configured weekday from the configured time on, so a first run on any
other day mails nobody and says when they will go. Each message is
recorded under its key (pseudonymised: the key names a person) so a rerun
skips what was sent; the key is first recorded as *sending*, so a digest
whose send was interrupted is known to be in doubt and is not resent blindly.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from agent import audit
from agent.digest import (
    CHART_WEEKS,
    ContactSeries,
    DigestInput,
    SourceHealth,
    compose,
    contact_series,
    week_label,
)
from agent.ledger import LedgerFiles, read_table
from agent.pipeline.analyze import Analysis, index_people, last_full_week
from agent.pipeline.org import Org
from agent.pseudonym import Pseudonymiser
from agent.store import Store, SuggestionRecord
from connectors.base import Connectors, OutgoingMessage, Sender
from rules.model import WEEKDAYS, Rules

log = logging.getLogger(__name__)

#: Store meta keys for connector health, per source.
_SYNCED, _FAILED = "health.{}.last_sync", "health.{}.error"
_SOURCES = ("directory", "calendar", "mail")


@dataclass
class DigestReport:
    sent: int = 0
    already_sent: int = 0
    in_doubt: int = 0  # interrupted mid-send earlier: not resent blindly
    held_back: str | None = None  # why nothing was sent, in a sentence
    messages: list[OutgoingMessage] = field(default_factory=list)  # what was (or would be) sent


def not_due(rules: Rules, now: dt.datetime) -> str | None:
    """None when digests are due now; else a sentence saying when they go out."""
    d = rules.digests
    zone = ZoneInfo(d.timezone)
    local = now.astimezone(zone)
    hour, minute = (int(x) for x in d.time.split(":"))
    due = dt.time(hour, minute)
    if local.weekday() == d.day and local.time() >= due:
        return None
    ahead = (d.day - local.weekday()) % 7
    if ahead == 0 and local.time() >= due:
        ahead = 7
    next_day = local.date() + dt.timedelta(days=ahead)
    return (f"digests go out on {WEEKDAYS[d.day].capitalize()}s from {d.time} {d.timezone} "
            f"(digests.day and digests.time in the rules); the next on {next_day:%a %d %b}. "
            "None sent now.")


def week_moment(week: str, rules: Rules, now: dt.datetime) -> dt.datetime:
    """When the digests of ISO week ``week`` (like 2026-W48) go out; never later than ``now``."""
    year, _, number = week.partition("-W")
    day = dt.date.fromisocalendar(int(year), int(number), rules.digests.day + 1)
    hour, minute = (int(x) for x in rules.digests.time.split(":"))
    moment = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(rules.digests.timezone))
    return min(moment, now)


def recent_records(records: Iterable[SuggestionRecord], org: Org, now: dt.datetime,
                   weeks: int = CHART_WEEKS) -> list[tuple[SuggestionRecord, tuple[str, ...]]]:
    """Suggestions of the last ``weeks`` weeks and to come, with their people's e-mails
    (organiser first); those with someone who has left are dropped."""
    since = (now - dt.timedelta(weeks=weeks)).isoformat()
    out = []
    for record in records:
        if max(record.start or "", record.created) < since:
            continue
        emails = tuple(org.by_pseudonym.get(p, "") for p in record.people)
        if all(emails):
            out.append((record, emails))
    return out


def contact(ledger: LedgerFiles, org: Org, rules: Rules, as_of: dt.date) -> ContactSeries:
    """The last weeks of contact the charts draw, read from the ledger."""
    last = last_full_week(as_of)
    table = read_table(ledger, last - CHART_WEEKS + 1, last)
    dept_of, email_of = index_people(ledger, org)
    return contact_series(table, dept_of, org.departments, email_of, rules.seams.recent_weeks)


def record_sync(store: Store, connectors: Connectors, now: dt.datetime, error: str | None = None) -> None:
    """Remember when the sources were last read (or why they failed) for the admin digest."""
    for name in _SOURCES:
        if getattr(connectors, name) is None:
            continue
        if error is None:
            store.set_meta(_SYNCED.format(name), now.isoformat())
        store.set_meta(_FAILED.format(name), error or "")


def health(store: Store, connectors: Connectors) -> list[SourceHealth]:
    out = []
    for name in _SOURCES:
        part = getattr(connectors, name)
        if part is None:
            continue
        synced = store.meta(_SYNCED.format(name))
        backend = type(part).__module__.split(".")[1] if "." in type(part).__module__ else "?"
        out.append(SourceHealth(name, backend, dt.datetime.fromisoformat(synced) if synced else None,
                                len(part.problems), store.meta(_FAILED.format(name)) or None))
    return out


def gather(store: Store, org: Org, rules: Rules, analysis: Analysis, excluded: Mapping[str, str],
           now: dt.datetime, *, ledger: LedgerFiles | None = None, connectors: Connectors | None = None,
           rules_errors: Sequence[str] = (), sender_address: str | None = None,
           opt_out_address: str | None = None, pause_address: str | None = None,
           paused: Mapping[str, dt.datetime] | None = None) -> DigestInput:
    """Everything the week's digests say, as plain data."""
    return DigestInput(
        now.date(), org.people, analysis.seams, analysis.trends, analysis.lapsed,
        recent_records(store.suggestions(), org, now), excluded, rules, tuple(rules_errors),
        sender_address, opt_out_address,
        contact=contact(ledger, org, rules, now.date()) if ledger is not None else None,
        now=now, health=health(store, connectors) if connectors is not None else (),
        too_thin=analysis.too_thin, pause_address=pause_address, paused=dict(paused or {}),
        calibration=analysis.calibration,
    )


def deliver(messages: Iterable[OutgoingMessage], sender: Sender, store: Store,
            pseudonymiser: Pseudonymiser, now: dt.datetime) -> DigestReport:
    """Send each message not sent before. The one place a digest is recorded as sent."""
    report = DigestReport()
    for message in messages:
        key = pseudonymiser.person(message.key)  # the key names a person: keep it keyed
        if store.digest_sent(key):
            report.already_sent += 1
            continue
        if store.digest_sent(_sending(key)):
            # Interrupted between the two marks: it may have arrived. Ask the sender where
            # it can tell; resend only if it surely did not go, record it if it did, and
            # otherwise count it and leave it (a second copy is worse than a missing one).
            went = sender.delivered(message)
            if went is None:
                log.warning("a digest (key %s) was interrupted while sending and the sender "
                            "cannot tell if it went; not resent", key[:12])
                report.in_doubt += 1
                continue
            if went:
                audit.mail_sent(key, pseudonymiser.person(message.to), week_label(now.date()), now)
                store.mark_digest_sent(key, now)
                report.already_sent += 1
                continue
        else:
            store.mark_digest_sent(_sending(key), now)
        sender.send(message)
        audit.mail_sent(key, pseudonymiser.person(message.to), week_label(now.date()), now)
        store.mark_digest_sent(key, now)
        report.sent += 1
        report.messages.append(message)
    return report


def _sending(key: str) -> str:
    return f"{key}:sending"


def send_digests(
    sender: Sender,
    store: Store,
    org: Org,
    rules: Rules,
    analysis: Analysis,
    excluded: Mapping[str, str],
    now: dt.datetime,
    pseudonymiser: Pseudonymiser,
    *,
    ledger: LedgerFiles | None = None,
    connectors: Connectors | None = None,
    rules_errors: Sequence[str] = (),
    sender_address: str | None = None,
    opt_out_address: str | None = None,
    pause_address: str | None = None,
    paused: Mapping[str, dt.datetime] | None = None,
    force: bool = False,
) -> DigestReport:
    """Send this week's digests not sent yet, when they are due (``force``: regardless)."""
    if not force:
        reason = not_due(rules, now)
        if reason is not None:
            return DigestReport(held_back=reason)
    data = gather(store, org, rules, analysis, excluded, now, ledger=ledger, connectors=connectors,
                  rules_errors=rules_errors, sender_address=sender_address,
                  opt_out_address=opt_out_address, pause_address=pause_address, paused=paused)
    return deliver(compose(data), sender, store, pseudonymiser, now)

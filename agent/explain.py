"""Plain-text accounts of what rules do: ``rules explain`` and ``rules diff``.

Everything here is pure: an :class:`agent.dryrun.DryRun` in, lines of text
out, in a stable order so the golden tests can compare them exactly.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from agent.digest import DigestInput, compose, team_of
from agent.dryrun import DryRun, notice_lines, pairs_set_aside
from agent.holds import render_text
from agent.ledger import week_start
from agent.lifecycle import Stage
from agent.matcher import has_room, in_cooldown
from agent.notices import set_aside_lines
from agent.pipeline import Planned
from agent.slots import could_meet
from agent.store import SuggestionRecord
from connectors.base import HoldMode, Person
from rules.model import WEEKDAYS, Rules, _format_duration

_MODES = {
    HoldMode.SUGGEST: "suggest: suggestions go into the digests only, nothing is put on calendars",
    HoldMode.HOLD: "hold: a tentative hold goes on the first person's calendar",
    HoldMode.INVITE: "invite: the hold invites everyone in the suggestion",
}


def _who(person: Person) -> str:
    return f"{person.email} ({person.department}, level {person.level if person.level is not None else '?'})"


def _seam_line(a: str, b: str, outcome: DryRun) -> str:
    seams = outcome.rules.seams
    if a in seams.ignore_departments or b in seams.ignore_departments:
        named = a if a in seams.ignore_departments else b
        return f"ignored      {a} / {b}: {named} is in seams.ignore_departments"
    if any({a, b} == set(pair) for pair in seams.ignore_pairs):
        return f"ignored      {a} / {b}: listed in seams.ignore_pairs"
    for seam in outcome.analysis.seams:
        if set(seam.departments) == {a, b}:
            status = "FLAGGED    " if seam.drifting else "not flagged"
            return f"{status}  {a} / {b}: {seam.reason} [rule: {seam.rule}]"
    floor, where = seams.min_volume_for(a, b), seams.source_of(a, b, "min_volume")
    volume = outcome.analysis.too_thin.get((a, b), outcome.analysis.too_thin.get((b, a)))
    had = f" ({volume:.1f})" if volume is not None else ""
    return (f"not judged   {a} / {b}: baseline contact{had} below min_volume {floor:g} "
            f"[rule: {where}]")


def seam_lines(outcome: DryRun) -> list[str]:
    departments = outcome.org.departments
    first = week_start(outcome.analysis.first_week)
    last = week_start(outcome.analysis.last_week) + dt.timedelta(days=6)
    seams = outcome.rules.seams
    lines = [f"Seams ({len(departments)} departments; weeks {first} to {last}; recent "
             f"{seams.recent_weeks} weeks against the {seams.baseline_weeks} before; "
             f"drop {seams.drop:.0%}, false discovery rate {seams.false_discovery_rate})"]
    lines += [f"  {_seam_line(a, b, outcome)}"
              for a, b in itertools.combinations(departments, 2)]
    return lines + [f"  {line}" for line in set_aside_lines(pairs_set_aside(outcome), outcome.rules)]


def exclusion_lines(outcome: DryRun) -> list[str]:
    lines = ["People left out"]
    for email, reason in sorted(outcome.excluded.items()):
        lines.append(f"  {_who(outcome.org.people[email])}: {reason}")
    if len(lines) == 1:
        lines.append("  nobody: everyone in the directory may be suggested")
    pairing = outcome.rules.pairing
    capped = [
        email for email in sorted(outcome.org.people)
        if email not in outcome.excluded and not has_room(email, outcome.history, pairing)
    ]
    for email in capped:
        week = outcome.history.this_week.get(email, 0)
        month = outcome.history.last_28_days.get(email, 0)
        lines.append(f"  {_who(outcome.org.people[email])}: at a cap this week ({week} this week, "
                     f"per_person_per_week {pairing.per_person_per_week}; {month} in 28 days, "
                     f"per_person_per_month {pairing.per_person_per_month})")
    return lines


def _local(moment: dt.datetime, person: Person) -> str:
    return f"{moment.astimezone(ZoneInfo(person.timezone)):%a %H:%M} {person.timezone}"


def _slot_text(item: Planned, rules: Rules) -> str:
    if item.slot is None:
        meetings = rules.meetings
        days = [WEEKDAYS[d] for d in meetings.days if d not in meetings.no_meeting_days]
        return (f"no slot: no common free {_format_duration(meetings.duration)} within "
                f"{meetings.horizon_days} working days inside meetings.hours {meetings.hours} "
                f"on {', '.join(days)} (everyone's own time zone and working hours, "
                f"{_format_duration(meetings.buffer)} buffer)")
    start = item.slot.start
    local = "; ".join(f"{p.email.split('@')[0]} {_local(start, p)}" for p in item.suggestion.people)
    return f"slot {start:%a %Y-%m-%d %H:%M}-{item.slot.end:%H:%M} UTC ({local})"


def suggestion_lines(outcome: DryRun) -> list[str]:
    rules = outcome.rules
    lines = [f"Suggestions this week ({len(outcome.plans)}; caps: per_person_per_week "
             f"{rules.pairing.per_person_per_week}, per_person_per_month "
             f"{rules.pairing.per_person_per_month}, per_seam_per_week "
             f"{rules.pairing.per_seam_per_week}; cooldown_weeks {rules.pairing.cooldown_weeks})"]
    for number, item in enumerate(outcome.plans, 1):
        s = item.suggestion
        where = f"seam {' / '.join(s.seam)}" if s.seam else "peer circle"
        lines.append(f"  {number}. {' + '.join(_who(p) for p in s.people)}")
        lines.append(f"     why: {s.reason} on {where} [rule: {s.rule}]")
        lines.append(f"     {_slot_text(item, rules)}")
    if not outcome.plans:
        lines.append("  none")
    lines += _quiet_seams(outcome)
    lines += _cooldown_lines(outcome)
    return lines


def _quiet_seams(outcome: DryRun) -> list[str]:
    """Flagged seams that got no suggestion, with who was available on each side."""
    lines = []
    suggested = {s.suggestion.seam for s in outcome.plans if s.suggestion.seam}
    for a, b in outcome.analysis.drifting:
        if (a, b) in suggested or (b, a) in suggested:
            continue
        counts = []
        sides: list[list[Person]] = []
        for dept in (a, b):
            members = [e for e, p in outcome.org.people.items() if p.department == dept]
            free = [e for e in members if e not in outcome.excluded
                    and has_room(e, outcome.history, outcome.rules.pairing)]
            counts.append(f"{dept} {len(free)} of {len(members)}")
            sides.append([outcome.org.people[e] for e in free])
        lines.append(f"  no suggestion for flagged seam {a} / {b}: eligible people with room: "
                     f"{', '.join(counts)}")
        first_day = outcome.now.date() + dt.timedelta(days=1)
        if all(sides) and not any(could_meet(x, y, outcome.rules.meetings, first_day)
                                  for x in sides[0] for y in sides[1]):
            lines.append("    no pair across it shares meeting hours (time zones, working hours "
                         "and meetings.hours/days never overlap by a meeting's length)")
    return lines


def _cooldown_lines(outcome: DryRun) -> list[str]:
    lines = []
    pairing = outcome.rules.pairing
    for pair, last in sorted(outcome.history.last_paired.items(), key=lambda kv: sorted(kv[0])):
        a, b = sorted(pair)
        if in_cooldown(a, b, outcome.history, pairing, outcome.as_of):
            until = last + dt.timedelta(weeks=pairing.cooldown_weeks)
            lines.append(f"  in cool-down: {a} + {b} (suggested {last}, not again before {until}; "
                         f"cooldown_weeks {pairing.cooldown_weeks})")
    return lines


def meeting_lines(outcome: DryRun) -> list[str]:
    meetings = outcome.rules.meetings
    days = [WEEKDAYS[d] for d in meetings.days if d not in meetings.no_meeting_days]
    lines = [
        "Meetings",
        f"  mode {_MODES[meetings.mode]}",
        f"  {_format_duration(meetings.duration)} between {meetings.hours} local time on "
        f"{', '.join(days)}; {_format_duration(meetings.buffer)} buffer; looking "
        f"{meetings.horizon_days} working days ahead; video link {'yes' if meetings.video else 'no'}",
    ]
    if meetings.no_meeting_days:
        lines.append("  no-meeting days: " + ", ".join(WEEKDAYS[d] for d in meetings.no_meeting_days))
    first = next((p for p in outcome.plans if p.suggestion.reason != "peer-circle"), None)
    if first is not None:
        lines.append(f"  title of suggestion 1: {render_text(meetings.title, first.suggestion, meetings)}")
    return lines


def _records(outcome: DryRun) -> list[tuple[SuggestionRecord, tuple[str, ...]]]:
    status = Stage.SUGGESTED if outcome.rules.meetings.mode is HoldMode.SUGGEST else Stage.HELD
    out: list[tuple[SuggestionRecord, tuple[str, ...]]] = []
    for item in outcome.plans:
        if item.slot is None:
            continue
        emails = item.suggestion.emails
        record = SuggestionRecord(
            id=f"whatif-{len(out)}", people=emails, departments=item.suggestion.departments,
            reason=item.suggestion.reason, week=0, created=outcome.now.isoformat(), status=status,
            mode=outcome.rules.meetings.mode.value, start=item.slot.start.isoformat(),
            end=item.slot.end.isoformat())
        out.append((record, emails))
    return out


def digest_lines(outcome: DryRun) -> list[str]:
    rules = outcome.rules
    digests = rules.digests
    data = DigestInput(outcome.as_of, outcome.org.people, outcome.analysis.seams,
                       outcome.analysis.trends, outcome.analysis.lapsed, _records(outcome),
                       outcome.excluded, rules)
    messages = compose(data)
    by_kind: dict[str, list[str]] = {}
    for message in messages:
        by_kind.setdefault(message.key.split("/", 1)[0], []).append(message.to)
    lines = [f"Digests (audiences {', '.join(digests.audiences)}; {WEEKDAYS[digests.day]} "
             f"{digests.time} {digests.timezone})"]
    for kind in ("person", "manager", "admin"):
        if kind not in digests.audiences:
            lines.append(f"  {kind}: not sent (not in digests.audiences)")
            continue
        recipients = sorted(by_kind.get(kind, []))
        lines.append(f"  {kind}: {len(recipients)} — {', '.join(recipients) or 'nobody'}")
    if "admin" in digests.audiences and not digests.admins:
        lines.append("  admin digest has no recipient: digests.admins is empty")
    opted = sorted(e for e, r in outcome.excluded.items() if r == "opted out")
    if opted:
        lines.append(f"  no digest for people who opted out: {', '.join(opted)}")
    return lines


def privacy_lines(outcome: DryRun) -> list[str]:
    privacy = outcome.rules.privacy
    k = privacy.min_group_size
    people = outcome.org.people
    lines = [f"Privacy (min_group_size {k}; ledger kept {privacy.retention_weeks} weeks)"]
    managers = sorted({p.manager for p in people.values() if p.manager and p.manager in people})
    for manager in managers:
        size = len(team_of(manager, people))
        shown = "team view shown" if size >= k else "team view withheld"
        lines.append(f"  manager {manager}: team of {size}, {shown}")
    sizes = Counter(p.department for p in people.values())
    small = sorted(d for d, n in sizes.items() if n < k)
    if small:
        lines.append(f"  admin heatmap hides seams touching departments under {k} people: "
                     + ", ".join(f"{d} ({sizes[d]})" for d in small))
    else:
        lines.append("  admin heatmap shows every seam (all departments are big enough)")
    return lines


def explain(outcome: DryRun, source: str, details: bool = False) -> str:
    rules = outcome.rules
    base = f"extends {rules.extends}" if rules.extends else "built-in defaults underneath"
    covered = f"; contact from {outcome.data.text()}" if outcome.data else "; no contact"
    head = [
        f"Rules {source} ({base}), as of {outcome.as_of}",
        f"Data: {len(outcome.org.people)} people in {len(outcome.org.departments)} departments, "
        f"{outcome.interactions} interactions read{covered}",
    ]
    # the same lines, from the same dry run, as `analyze` prints
    head += [f"  {line}" for line in notice_lines(outcome, details)]
    blocks = [head, seam_lines(outcome), exclusion_lines(outcome), suggestion_lines(outcome),
              meeting_lines(outcome), digest_lines(outcome), privacy_lines(outcome)]
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


# --- diff ---------------------------------------------------------------------------------


def _key(item: Planned) -> tuple[str, ...]:
    return tuple(sorted(item.suggestion.emails))


def _describe(item: Planned) -> str:
    s = item.suggestion
    where = " / ".join(s.seam) if s.seam else "peer circle"
    when = f"{item.slot.start:%a %Y-%m-%d %H:%M} UTC" if item.slot else "no slot"
    return f"{' + '.join(s.emails)} ({s.reason}, {where}, {when})"


def _set_changes(title: str, old: Iterable[str], new: Iterable[str]) -> list[str]:
    before, after = set(old), set(new)
    lines = [f"  - {x}" for x in sorted(before - after)] + [f"  + {x}" for x in sorted(after - before)]
    return [title, *lines] if lines else []


def diff(old: DryRun, new: DryRun) -> str:
    """How suggestions (and the seams and exclusions behind them) change from OLD to NEW."""
    lines: list[str] = [f"As of {new.as_of}: {len(old.plans)} suggestion(s) before, "
                        f"{len(new.plans)} after"]
    flagged = _set_changes("Flagged seams", (" / ".join(d) for d in old.analysis.drifting),
                           (" / ".join(d) for d in new.analysis.drifting))
    excluded = _set_changes("People left out",
                            (f"{e}: {r}" for e, r in old.excluded.items()),
                            (f"{e}: {r}" for e, r in new.excluded.items()))
    before = {_key(p): p for p in old.plans}
    after = {_key(p): p for p in new.plans}
    changes = [f"  - {_describe(before[k])}" for k in sorted(before.keys() - after.keys())]
    changes += [f"  + {_describe(after[k])}" for k in sorted(after.keys() - before.keys())]
    for k in sorted(before.keys() & after.keys()):
        if _describe(before[k]) != _describe(after[k]):
            changes.append(f"  ~ {_describe(before[k])}\n    -> {_describe(after[k])}")
    unchanged = sum(1 for k in before.keys() & after.keys()
                    if _describe(before[k]) == _describe(after[k]))
    for block in (flagged, excluded):
        if block:
            lines += ["", *block]
    lines += ["", "Suggestions", *(changes or ["  no change"])]
    lines.append(f"  ({unchanged} unchanged)")
    if old.rules.meetings.mode != new.rules.meetings.mode:
        lines += ["", f"Mode: {old.rules.meetings.mode.value} -> {new.rules.meetings.mode.value}"]
    return "\n".join(lines) + "\n"


def diff_json(old: DryRun, new: DryRun) -> dict[str, object]:
    """``rules diff --json``: the suggestions removed, added and changed, and the flagged seams."""
    before = {_key(p): p for p in old.plans}
    after = {_key(p): p for p in new.plans}
    return {
        "as_of": new.as_of.isoformat(),
        "flagged": {"before": sorted(" / ".join(d) for d in old.analysis.drifting),
                    "after": sorted(" / ".join(d) for d in new.analysis.drifting)},
        "removed": [_describe(before[k]) for k in sorted(before.keys() - after.keys())],
        "added": [_describe(after[k]) for k in sorted(after.keys() - before.keys())],
        "changed": [{"before": _describe(before[k]), "after": _describe(after[k])}
                    for k in sorted(before.keys() & after.keys())
                    if _describe(before[k]) != _describe(after[k])],
        "mode": {"before": old.rules.meetings.mode.value, "after": new.rules.meetings.mode.value},
    }

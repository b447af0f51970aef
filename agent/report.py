"""Readable terminal reports (rich) for analyze, demo and run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from agent import pipeline
from agent.calibrate import Calibration
from agent.drift import CONVERSATIONS, MESSAGES, SIGNAL_LABELS, STRONG_MAIL, SeamResult
from agent.dryrun import DryRun, pairs_set_aside
from agent.notices import set_aside_lines
from connectors.base import Person


def seams_table(seams: list[SeamResult], limit: int = 15) -> Table:
    table = Table(title="Seams between departments, most drifting first")
    for column in ("Departments", "Ties / week", "Change", "q", "Drifting", "Why"):
        table.add_column(column, overflow="fold")
    for s in seams[:limit]:
        table.add_row(
            f"{s.departments[0]} / {s.departments[1]}",
            f"{s.baseline_ties:.0f} → {s.recent_ties:.0f}",
            f"{s.change:+.0%}",
            f"{s.q_value:.3f}",
            "[bold red]yes[/]" if s.drifting else "no",
            s.reason,
        )
    if len(seams) > limit:
        table.caption = f"{len(seams) - limit} more pairs not shown (use --json for all)"
    return table


def evidence_table(seams: list[SeamResult], limit: int = 15) -> Table:
    """Each seam's tests (one per signal): recent against what the baseline predicts (and the
    change over the window's last weeks, which the drop reads too), how bursty the baseline was,
    p and q, and which gate decided."""
    table = Table(title="Evidence: recent weeks against what the baseline predicts")
    for column in ("Departments", "Volume share", "Test", "Expected", "Seen", "Disp.", "p",
                   "whole · late", "q", "Gate"):
        table.add_column(column, no_wrap=column != "Departments")
    for s in seams[:limit]:
        for k, test in enumerate(s.tests):
            table.add_row(
                f"{s.departments[0]} / {s.departments[1]}" if k == 0 else "",
                f"{s.volume_baseline_share:.1%} → {s.volume_recent_share:.1%}" if k == 0 else "",
                f"{test.signal} {test.change:+.0%}"
                + (f" (last {test.latest_weeks} wk {test.latest:+.0%})" if test.latest_weeks else ""),
                f"{test.expected:.0f}",
                f"{test.observed:.0f}",
                f"{test.dispersion:.1f}",
                f"{test.p:.3f}",
                "" if test.whole_p is None or test.late_p is None
                else f"{test.whole_p:.3f} · {test.late_p:.3f}",
                f"{test.q:.3f}",
                s.gate if k == 0 else "",
            )
    tested = {t.signal for s in seams for t in s.tests}
    missing = [f"{name} not tested: weeks of these windows were written before ledger schema "
               f"{schema}, without {what}"
               for signal, name, schema, what in (
                   (MESSAGES, SIGNAL_LABELS[MESSAGES], 4, "mail weights"),
                   (STRONG_MAIL, SIGNAL_LABELS[STRONG_MAIL], 4, "mail weights"),
                   (CONVERSATIONS, SIGNAL_LABELS[CONVERSATIONS], 5, "conversations"))
               if seams and signal not in tested]
    notes = []
    late = {t.late_weeks for s in seams for t in s.tests if t.late_weeks}
    if late:
        last = f"{late.pop()} weeks'" if len(late) == 1 else "two thirds'"
        notes.append(f"p joins two tests, the whole recent window's and its last {last}, "
                     "corrected for testing twice")
    if missing:
        notes.append("; ".join(missing) + " (`bridgework doctor`)")
    if notes:
        table.caption = "; ".join(notes)
    return table


def calibration_lines(calibration: Calibration, details: bool) -> list[str]:
    """The placebo's verdict, and with ``details`` what it means."""
    lines = [f"Calibration: {calibration.summary()}."]
    if details:
        lines.append("  (whole weeks of this organisation shuffled, so its bursts stay and any "
                     "trend is gone: every flag is a false alarm; a calibrated test gives p<0.05 "
                     "in about 5% of tests. A shuffle also breaks up slow swings that last "
                     "several weeks, such as projects, so real false alarms can come somewhat "
                     "more often than this: docs/detection.md)")
    return lines


def display_names(people: Iterable[Person], department: bool = False) -> dict[str, str]:
    """How each person is shown: the name; with the department where the name is shared; with
    the e-mail too where name and department are (two James Smiths in Legal). With
    ``department`` everyone's department is shown, once: "Ann Lee, Sales", and a shared
    name keeps its "(Legal)"."""
    everyone = list(people)
    by_name = Counter(_name(p).casefold() for p in everyone)
    by_name_dept = Counter((_name(p).casefold(), p.department) for p in everyone)
    out = {}
    for p in everyone:
        name = _name(p)
        if by_name[name.casefold()] <= 1:
            out[p.email] = f"{name}, {p.department}" if department else name
        elif by_name_dept[(name.casefold(), p.department)] <= 1:
            out[p.email] = f"{name} ({p.department})"
        else:
            out[p.email] = f"{name} <{p.email}>" + (f", {p.department}" if department else "")
    return out


def _name(person: Person) -> str:
    return person.name.strip() or person.email


def lapsed_table(lapsed: list[tuple[str, str, float]], names: Mapping[str, str],
                 limit: int = 10) -> Table:
    """The lapsed ties, heaviest first; ``names`` should carry each person's department."""
    table = Table(title=f"Lapsed ties: {len(lapsed)} (met regularly before, not lately)")
    table.add_column("Person")
    table.add_column("Person")
    table.add_column("Baseline contact (h)")
    for a, b, weight in sorted(lapsed, key=lambda t: (-t[2], t[0], t[1]))[:limit]:
        table.add_row(names[a], names[b], f"{weight:.1f}")
    return table


def suggestions_table(plans: list[pipeline.Planned], mode: str, names: Mapping[str, str]) -> Table:
    if mode == "suggest":
        title = (f"Suggested meetings: {len(plans)} (mode suggest: they go into the digests; "
                 "meetings.mode hold or invite puts them on calendars)")
    else:
        title = f"Suggested meetings: {len(plans)} (mode {mode}: Bridgework places these as holds)"
    table = Table(title=title)
    table.add_column("People")
    table.add_column("Departments")
    table.add_column("Reason")
    table.add_column("When, in each person's zone", overflow="fold")
    for item in plans:
        s = item.suggestion
        if item.slot is None:
            when = "no mutual free slot in the horizon"
        else:
            when = "; ".join(
                f"{names[p.email]}: {item.slot.start.astimezone(ZoneInfo(p.timezone)):%a %d %b %H:%M} "
                f"{p.timezone}"
                for p in s.people
            )
        table.add_row(", ".join(names[p.email] for p in s.people), " / ".join(s.departments),
                      s.reason, when)
    return table


def print_analysis(console: Console, result: DryRun, *, calibration_details: bool = False) -> None:
    """The readable report of a dry run (``analyze``, ``demo``)."""
    org, analysis, rules = result.org, result.analysis, result.rules
    drifting = analysis.drifting
    covered = f"; data from {result.data.text()}" if result.data else "; no contact in the data"
    console.print(f"[bold]As of {analysis.as_of}[/]: {analysis.people} people in "
                  f"{len(org.departments)} departments{covered}; "
                  f"[bold red]{len(drifting)} drifting[/] seam(s).")
    for line in set_aside_lines(pairs_set_aside(result), rules):
        console.print(line, markup=False, highlight=False)
    console.print(seams_table(analysis.seams))
    console.print(evidence_table(analysis.seams))
    if analysis.calibration is not None:
        for line in calibration_lines(analysis.calibration, calibration_details):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    names = display_names(org.people.values())
    console.print(lapsed_table(analysis.lapsed, display_names(org.people.values(), True)))
    console.print(suggestions_table(result.plans, rules.meetings.mode.value, names))

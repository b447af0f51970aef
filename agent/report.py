"""Readable terminal reports (rich) for analyze, demo and run."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from agent import pipeline
from agent.drift import SeamResult


def seams_table(seams: list[SeamResult], limit: int = 15) -> Table:
    table = Table(title="Seams between departments, most drifting first")
    for column in ("Departments", "Baseline share", "Recent share", "Change", "Score", "Drifting",
                   "Why"):
        table.add_column(column, overflow="fold")
    for s in seams[:limit]:
        table.add_row(
            f"{s.departments[0]} / {s.departments[1]}",
            f"{s.baseline_share:.1%}",
            f"{s.recent_share:.1%}",
            f"{s.change:+.0%}",
            f"{s.score:.1f}",
            "[bold red]yes[/]" if s.drifting else "no",
            s.reason,
        )
    if len(seams) > limit:
        table.caption = f"{len(seams) - limit} more pairs not shown (use --json for all)"
    return table


def lapsed_table(org: pipeline.Org, lapsed: list[tuple[str, str, float]], limit: int = 10) -> Table:
    table = Table(title=f"Lapsed ties: {len(lapsed)} (met regularly before, not lately)")
    table.add_column("Person")
    table.add_column("Person")
    table.add_column("Baseline contact (h)")
    for a, b, weight in sorted(lapsed, key=lambda t: -t[2])[:limit]:
        pa, pb = org.people[a], org.people[b]
        table.add_row(f"{pa.name or a} ({pa.department})", f"{pb.name or b} ({pb.department})",
                      f"{weight:.1f}")
    return table


def suggestions_table(plans: list[pipeline.Planned], mode: str) -> Table:
    verb = "would place" if mode == "suggest" else "places"
    table = Table(title=f"Suggested meetings: {len(plans)} (Bridgework {verb} these as holds)")
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
                f"{p.first_name}: {item.slot.start.astimezone(ZoneInfo(p.timezone)):%a %d %b %H:%M} "
                f"{p.timezone}"
                for p in s.people
            )
        table.add_row(", ".join(p.name or p.email for p in s.people), " / ".join(s.departments),
                      s.reason, when)
    return table


def print_analysis(console: Console, org: pipeline.Org, analysis: pipeline.Analysis,
                   plans: list[pipeline.Planned], mode: str) -> None:
    drifting = analysis.drifting
    console.print(f"[bold]As of {analysis.as_of}[/]: {analysis.people} people, "
                  f"{len(analysis.seams)} department pairs with enough contact, "
                  f"[bold red]{len(drifting)} drifting[/].")
    console.print(seams_table(analysis.seams))
    console.print(lapsed_table(org, analysis.lapsed))
    console.print(suggestions_table(plans, mode))

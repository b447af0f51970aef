"""``bridgework simulate``: will these rules close the gap? The real engine over simulated weeks."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich import box
from rich.console import Console
from rich.table import Table

from agent.cli_common import parse_date
from connectors.common.errors import BridgeworkError

if TYPE_CHECKING:
    from agent.simulate import Simulation


def _percent(value: float) -> str:
    return f"{value:.1%}"


def week_table(sim: Simulation) -> Table:
    """The week-by-week table: what happened to the holds, and each seam's share."""
    table = Table(title=f"{sim.label}: {sim.people} people from {sim.as_of}, {sim.mode} mode",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("week", "placed", "accepted", "met", "declined", "moved", "expired"):
        table.add_column(name, justify="left" if name == "week" else "right", no_wrap=True,
                         min_width=8 if name == "week" else len(name))
    for k, _ in enumerate(sim.seams, 1):
        table.add_column(f"seam {k}", justify="right", no_wrap=True, min_width=6)
    for row in sim.weeks:
        cells = [row.week, *(str(getattr(row, n)) for n in
                             ("placed", "accepted", "met", "declined", "moved", "expired"))]
        for seam in sim.seams:
            mark = "*" if seam.label in row.flagged else " "
            cells.append(_percent(row.shares.get(seam.label, 0.0)) + mark)
        table.add_row(*cells)
    return table


def legend_lines(sim: Simulation) -> list[str]:
    lines = [f"seam {k}: {seam.label}, share of its departments' ties "
             f"{_percent(seam.baseline)} before the drift"
             for k, seam in enumerate(sim.seams, 1)]
    return [*lines, "* the seam was flagged as drifting (or under repair) that week"]


def closing_lines(sim: Simulation) -> list[str]:
    lines = []
    for seam in sim.seams:
        regained = seam.regained
        share = "nothing was lost" if regained is None else f"regained {regained:.0%} of its lost share"
        lines.append(f"{seam.label} {share} ({_percent(seam.baseline)} before the drift, "
                     f"{_percent(seam.start)} at the start, {_percent(seam.end)} over the last weeks)")
    if not sim.seams:
        lines.append("no seam was drifting at the start: nothing to repair")
    c = sim.checks
    if c.clean:
        lines.append(f"checks: {c.holds_checked} placements and moves checked; no duplicate hold, "
                     "no write to an event Bridgework did not create, none outside working hours "
                     "or over busy time, no cap exceeded")
    else:
        for name in ("duplicate_holds", "foreign_writes", "outside_hours", "over_busy",
                     "cap_breaches"):
            for problem in getattr(c, name)[:10]:
                lines.append(f"CHECK FAILED ({name.replace('_', ' ')}): {problem}")
    return lines + sim.notes


@click.command()
@click.option("--data", "data_path", type=click.Path(file_okay=False), help="A data directory.")
@click.option("--demo", is_flag=True, help="The generated demo organisation (planted drift).")
@click.option("--people", default=150, show_default=True, help="With --demo: how many people.")
@click.option("--as-of", "as_of", help="With --data: start on this date (default: the Monday "
              "after its last message).")
@click.option("--weeks", default=12, show_default=True, type=click.IntRange(1, 52),
              help="Weeks to simulate.")
@click.option("--rules", "rules_paths", multiple=True, type=click.Path(dir_okay=False),
              help="A rules file; give it twice to compare two on the same organisation.")
@click.option("--accept-rate", default=0.6, show_default=True, type=click.FloatRange(0, 1),
              help="Share of invitees who accept.")
@click.option("--conflict-rate", default=0.1, show_default=True, type=click.FloatRange(0, 1),
              help="Chance an invitee books something else over a hold before answering.")
@click.option("--keep-in-touch", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Chance two people who met go on writing to each other.")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same run).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def simulate(data_path: str | None, demo: bool, people: int, as_of: str | None, weeks: int,
             rules_paths: tuple[str, ...], accept_rate: float, conflict_rate: float,
             keep_in_touch: float, seed: int, as_json: bool) -> None:
    """Run the real engine over simulated weeks and show what the rules would repair."""
    from agent.simpeople import Behaviour
    from agent.simulate import demo_org, read_org
    from agent.simulate import simulate as run
    from rules.loader import load_rules

    if bool(data_path) == demo:
        raise BridgeworkError("give either --data DIR or --demo")
    behaviour = Behaviour(accept_rate=accept_rate, conflict_rate=conflict_rate,
                          keep_in_touch=keep_in_touch)
    console = Console(stderr=True)
    runs: list[Simulation] = []
    with tempfile.TemporaryDirectory(prefix="bridgework-simulate-") as scratch:
        root = Path(scratch)
        with console.status("reading the organisation"):
            if demo:
                org = demo_org(root, people, seed)
            else:
                data = Path(data_path or ".")
                if not (data / "people.csv").is_file():
                    raise BridgeworkError(f"{data} is not a data directory: people.csv is missing")
                org = read_org(data, parse_date(as_of))
        departments = sorted({p.department for p in org.people})
        for k, path in enumerate(rules_paths or (None,)):
            rules = load_rules(Path(path) if path else None, departments=departments)
            label = path or "default rules"
            with console.status(f"simulating {weeks} weeks under {label}") as status:
                runs.append(run(org, rules, weeks, behaviour, seed, root / f"run-{k}", label,
                                progress=status.update))
    if as_json:
        click.echo(json.dumps({"runs": [r.as_json() for r in runs]}, indent=1))
    else:
        # never crop a column away: a narrow terminal wraps the lines instead
        seams = max((len(r.seams) for r in runs), default=0)
        out = Console(width=max(Console().width, 76 + 9 * seams))
        for sim in runs:
            out.print(week_table(sim))
            for line in [*legend_lines(sim), *closing_lines(sim)]:
                out.print(line, markup=False, highlight=False)
        if len(runs) > 1:
            for line in comparison_lines(runs):
                out.print(line, markup=False, highlight=False)
    if not all(r.checks.clean for r in runs):
        raise SystemExit(1)


def comparison_lines(runs: list[Simulation]) -> list[str]:
    """Per seam, how much each rules file regained on the same organisation."""
    lines = ["compared on the same organisation and people:"]
    labels = sorted({s.label for r in runs for s in r.seams})
    for label in labels:
        parts = []
        for sim in runs:
            found = next((s for s in sim.seams if s.label == label), None)
            regained = found.regained if found else None
            parts.append(f"{sim.label}: " + ("-" if regained is None else f"{regained:.0%}"))
        lines.append(f"  {label} regained " + "; ".join(parts))
    return lines


"""The command line: a thin layer over the library. Errors for users are handled here, once."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from agent.cli_digest import digest as digest_group
from agent.cli_rules import data_departments
from agent.cli_rules import rules as rules_group
from connectors.common.errors import BridgeworkError
from rules.loader import load_rules

if TYPE_CHECKING:
    from agent.engine import CycleReport


#: Libraries of the optional extras, and the extra that brings each.
_EXTRAS = {"msal": "microsoft", "googleapiclient": "google", "google": "google",
           "google_auth_oauthlib": "google"}


class _Group(click.Group):
    """Turns BridgeworkError into a clean message and exit code 2, with no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BridgeworkError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(exc.exit_code)
        except ModuleNotFoundError as exc:
            extra = _EXTRAS.get((exc.name or "").split(".")[0])
            if extra is None:
                raise
            click.echo(f"error: this needs the {extra} extra: pip install 'bridgework[{extra}]'",
                       err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Bridgework keeps departments from drifting apart."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BridgeworkError(f"--as-of: expected a date like 2026-11-02, got {value!r}") from None


def _data_dir(path: str) -> Path:
    data = Path(path)
    if not (data / "people.csv").is_file():
        raise BridgeworkError(f"{data} is not a data directory: people.csv is missing "
                              "(see README, 'The data directory')")
    return data


@main.command()
@click.option("--data", "data_path", required=True, type=click.Path(file_okay=False),
              help="The data directory (people.csv, messages.jsonl, events.jsonl, ...).")
@click.option("--as-of", "as_of", help="Analyse as on this date (default: today, or the end of "
              "the data if it is older).")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False), help="A rules file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def analyze(data_path: str, as_of: str | None, rules_path: str | None, as_json: bool) -> None:
    """Find drifting seams and the meetings that would repair them, from a data directory."""
    from agent.dryrun import as_json as result_json
    from agent.dryrun import dry_run, problem_lines

    data = _data_dir(data_path)
    rules = load_rules(Path(rules_path) if rules_path else None,
                       departments=data_departments(data))
    console = Console(stderr=True)
    with console.status("reading the data directory") as status:
        # the spinner's thread only draws; reader processes never touch the console
        result = dry_run(data, rules, _date(as_of), progress=status.update, parallel=True)
    for line in problem_lines(result.problems):
        console.print(line, style="yellow", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        click.echo(json.dumps(result_json(result), indent=1))
        return
    from agent.report import print_analysis

    print_analysis(Console(), result.org, result.analysis, result.plans,
                   rules.meetings.mode.value)


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="The configuration file.")
@click.option("--once", is_flag=True, help="Run one full cycle and exit (else run as a daemon).")
@click.option("--dry-run", is_flag=True, help="With --once: run the whole cycle, write and send nothing.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="The daemon's log lines: readable text, or one JSON object a line.")
def run(config_path: str, once: bool, dry_run: bool, log_format: str) -> None:
    """Sync, analyse, suggest, place and look after holds, send digests."""
    from agent.config import load_config
    from agent.store import lock_store

    config = load_config(Path(config_path))
    if dry_run:
        from agent.cli_digest import dry_run_cycle

        dry_run_cycle(config, once, _print_cycle)
        return
    if not once:
        from agent.daemon import serve

        serve(config, "json" if log_format == "json" else "text")  # it takes the lock itself
        return
    from agent.engine import open_engine

    logging.getLogger().setLevel(min(logging.getLogger().level, getattr(logging, config.log_level)))
    with lock_store(config.store.path):
        engine = open_engine(config)
        console = Console(stderr=True)
        engine.parallel = True  # one command, one cycle: the spinner's thread only draws
        with console.status("running one cycle") as status:
            report = engine.run_once(progress=status.update)
        _print_cycle(report)


def _print_cycle(report: CycleReport) -> None:
    console = Console()
    stats = report.sync.stats
    console.print(f"sync: {stats.read:,} interactions read, {report.sync.new:,} new, "
                  f"{stats.pending:,} upcoming meetings waiting")
    drifting = report.analysis.drifting
    console.print(f"analysis: {len(drifting)} drifting seam(s): "
                  + (", ".join(" / ".join(d) for d in drifting) or "none"))
    placed = report.place
    console.print(f"holds: {len(placed.placed)} placed, {len(placed.suggested)} suggested "
                  f"(digest only), {len(placed.unscheduled)} without a free slot, "
                  f"{placed.resumed} finished from an interrupted run")
    if placed.failed:
        console.print(f"[yellow]{placed.failed} hold(s) could not be placed yet; they are recorded "
                      "and placed by the next cycle[/]")
    if report.upkeep.outcomes:
        console.print("upkeep: " + ", ".join(f"{k} {v}" for k, v in report.upkeep.outcomes.items()))
    console.print(f"digests sent: {report.digests_sent}")
    if report.digests.held_back:
        console.print(f"digests: {report.digests.held_back}")
    if report.digests.in_doubt:
        console.print(f"[yellow]{report.digests.in_doubt} digest(s) were interrupted while sending "
                      "earlier and may have arrived; they are not sent again[/]")
    for line in report.rules_errors:
        console.print(f"[red]rules error (last good rules kept):[/] {line}")


def _change_opt_out(config_path: str, email: str, opting_out: bool) -> None:
    """Appended to the store's opt-out inbox: works while the daemon runs (no lock)."""
    from agent.config import load_config, secret_key
    from agent.pseudonym import Pseudonymiser
    from agent.store import OptOutInbox

    if "@" not in email:
        raise BridgeworkError(f"{email!r} is not an e-mail address")
    config = load_config(Path(config_path))
    pseudonym = Pseudonymiser(secret_key(config.secret, config.store.path)).person(email.strip().lower())
    OptOutInbox(config.store.path).append(opting_out, pseudonym)


@main.command("opt-out")
@click.argument("email")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
def opt_out(email: str, config_path: str) -> None:
    """Stop suggestions for EMAIL; their holds are released at the next cycle."""
    _change_opt_out(config_path, email, True)
    click.echo(f"{email} opted out; their holds are released at the next cycle (or hold upkeep)")


@main.command("opt-in")
@click.argument("email")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
def opt_in(email: str, config_path: str) -> None:
    """Undo an opt-out for EMAIL."""
    _change_opt_out(config_path, email, False)
    click.echo(f"{email} takes part again from the next cycle")


@main.command()
@click.option("--people", default=200, show_default=True, help="How many people.")
@click.option("--weeks", default=40, show_default=True, help="Weeks of history.")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same org).")
@click.option("--out", "out_path", default="demo-data", show_default=True,
              type=click.Path(file_okay=False), help="Where to write the data directory.")
@click.option("--no-drift", is_flag=True, help="Plant no drift (a control organisation).")
def demo(people: int, weeks: int, seed: int, out_path: str, no_drift: bool) -> None:
    """Generate an organisation with planted drift, then show what Bridgework finds."""
    from agent.dryrun import dry_run
    from agent.report import print_analysis
    from connectors.demo import generate

    if people < 20 or weeks < 12:
        raise BridgeworkError("the demo needs at least 20 people and 12 weeks")
    out = Path(out_path)
    console = Console()
    with console.status(f"generating {people} people over {weeks} weeks"):
        truth = generate(out, people=people, weeks=weeks, seed=seed, drift=not no_drift)
    console.print(f"wrote the data directory [bold]{out}[/] (planted drift: "
                  + (", ".join(" / ".join(p) for p in truth.drifting_pairs) or "none") + ")")
    rules = load_rules(None)
    with console.status("analysing") as status:
        result = dry_run(out, rules, progress=status.update, parallel=True)
    print_analysis(console, result.org, result.analysis, result.plans, rules.meetings.mode.value)
    found = {frozenset(p) for p in result.analysis.drifting}
    planted = {frozenset(p) for p in truth.drifting_pairs}
    console.print(f"planted drift found: {len(found & planted)} of {len(planted)}; "
                  f"flagged without planted drift: {len(found - planted)}")
    console.print(f"next: bridgework analyze --data {out} --json, or see README for a config "
                  "that places these holds.")


def _register() -> None:
    from agent.cli_connect import connect
    from agent.cli_standards import caldav, imap

    connect.add_command(caldav)
    connect.add_command(imap)
    main.add_command(connect)
    from agent.cli_ops import doctor

    main.add_command(doctor)
    main.add_command(rules_group)
    main.add_command(digest_group)
    from agent.cli_holds import holds

    main.add_command(holds)


_register()

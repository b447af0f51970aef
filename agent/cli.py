"""The command line: a thin layer over the library. Errors for users are handled here, once.

Exit codes: 0 done, 2 something the user can fix (one line saying what and how),
1 a bug (with its traceback). The conventions every command shares live in
:mod:`agent.cli_common`; ``docs/cli.md`` is generated from these commands.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from agent.cli_common import (
    CONTEXT,
    config_option,
    console,
    json_option,
    parse_date,
    print_json,
    verbosity,
)
from agent.cli_digest import digest as digest_group
from agent.cli_rules import data_dir, rules_for_data
from agent.cli_rules import rules as rules_group
from connectors.common.errors import BridgeworkError
from rules.loader import load_rules

if TYPE_CHECKING:
    from agent.config import Config
    from agent.engine import CycleReport


#: Libraries of the optional extras, and the extra that brings each.
_EXTRAS = {"msal": "microsoft", "googleapiclient": "google", "google": "google",
           "google_auth_oauthlib": "google", "caldav": "caldav", "imapclient": "imap"}


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


def _version() -> str:
    try:
        return version("bridgework")
    except PackageNotFoundError:  # pragma: no cover - run from a tree that was never installed
        return "unknown"


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(_version(), "-V", "--version", prog_name="bridgework",
                      message="%(prog)s %(version)s")
@click.option("-v", "--verbose", count=True,
              help="More output: -v lists every input problem and what each step does, -vv debug.")
def main(verbose: int) -> None:
    """Bridgework keeps departments from drifting apart.

    Configuration is found by --config, then $BRIDGEWORK_CONFIG, then
    $XDG_CONFIG_HOME/bridgework/config.yaml (`bridgework init` writes it).
    Exit codes: 0 done, 2 a problem you can fix (the message says how), 1 a bug.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.command(context_settings=CONTEXT)
@click.option("--data", "data_path", required=True, type=click.Path(file_okay=False),
              help="The data directory (people.csv, messages.jsonl, events.jsonl, ...).")
@click.option("--as-of", "as_of", help="Analyse as on this date (default: today, or the end of "
              "the data if it is older).")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False), help="A rules file.")
@json_option
@click.option("--calibrate", is_flag=True, help="Also run a longer week-shuffle placebo on this "
              "organisation: how often the rules would raise a false alarm here.")
def analyze(data_path: str, as_of: str | None, rules_path: str | None, as_json: bool,
            calibrate: bool) -> None:
    """Find drifting seams and the meetings that would repair them, from a data directory.

    Nothing is written: the ledger lives in a temporary directory under a
    throw-away key.
    """
    from agent.dryrun import as_json as result_json
    from agent.dryrun import dry_run, notice_lines

    data = data_dir(data_path, "--data")
    err = console(stderr=True)
    with err.status("reading the data directory") as status:
        # the spinner's thread only draws; reader processes never touch the console
        result = dry_run(data, rules_for_data(Path(rules_path) if rules_path else None),
                         parse_date(as_of), progress=status.update, parallel=True)
    for line in notice_lines(result, details=verbosity() > 0):
        err.print(line, style="yellow", markup=False)
    weeks = result.analysis.seam_weeks
    if calibrate and weeks is not None:
        from agent.calibrate import LONG_RUNS
        from agent.calibrate import calibrate as placebo

        result.analysis.calibration = placebo(weeks, result.org.departments, result.rules.seams,
                                              runs=LONG_RUNS)
    if as_json:
        print_json(result_json(result))
        return
    from agent.report import print_analysis

    print_analysis(console(), result, calibration_details=calibrate)


def _load(config_path: Path) -> Config:
    """The configuration, checked, and the paths it names checked, before any state is written."""
    from agent.config import load_config
    from agent.preflight import check_sources

    config = load_config(config_path)
    check_sources(config)
    return config


@main.command(context_settings=CONTEXT)
@config_option
@click.option("--once", is_flag=True, help="Run one full cycle and exit (else run as a daemon).")
@click.option("--dry-run", is_flag=True, help="With --once: run the whole cycle, write and send nothing.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="The daemon's log lines: readable text, or one JSON object a line.")
@json_option
def run(config_path: Path, once: bool, dry_run: bool, log_format: str, as_json: bool) -> None:
    """Sync, analyse, suggest, place and look after holds, send digests.

    Without --once it runs as a daemon on the schedule in the configuration's
    `daemon:` section (/healthz and /metrics on daemon.health_port).

    A rules file that does not load is reported with every problem located, and
    the last good rules stay in force: the daemon goes on with them, and --once
    runs its cycle with them (--dry-run too), then exits 2.
    """
    from agent.store import lock_store

    config = _load(config_path)
    if dry_run:
        from agent.cli_digest import dry_run_cycle

        _refuse_broken_rules(dry_run_cycle(config, once,
                                           lambda report: _print_cycle(report, as_json)))
        return
    if not once:
        if as_json:
            raise BridgeworkError("--json reports one cycle: use it with --once (the daemon logs "
                                  "JSON lines with --log-format json)")
        from agent.daemon import serve

        serve(config, "json" if log_format == "json" else "text")  # it takes the lock itself
        return
    from agent.engine import open_engine
    from agent.status import cycle_summary, record

    with lock_store(config.store.path):
        engine = open_engine(config)
        engine.parallel = True  # one command, one cycle: the spinner's thread only draws
        with console(stderr=True).status("running one cycle") as status:
            report = engine.run_once(progress=status.update)
        problems = _problems(engine)
        record(engine.store, "cycle", cycle_summary(report, problems), engine.clock())
    _print_cycle(report, as_json, problems)
    _refuse_broken_rules(report)


def _refuse_broken_rules(report: CycleReport) -> None:
    """Exit 2 after a cycle that ran on the last good rules because the file was refused: a
    one-off run (cron, a person) has to hear of it, where the daemon just goes on."""
    if report.rules_errors:
        count = len(report.rules_errors)
        raise BridgeworkError(f"the rules file has {count} problem{'s' if count != 1 else ''} "
                              "(above), so this cycle ran on the last good rules; fix it "
                              "(`bridgework rules check` lists them) and run again")


def _problems(engine: Any) -> int:
    parts = (engine.connectors.directory, engine.connectors.calendar, engine.connectors.mail)
    return sum(len(part.problems) for part in parts if part is not None)


def _print_cycle(report: CycleReport, as_json: bool = False, problems: int = 0) -> None:
    if as_json:
        from agent.status import cycle_summary

        print_json(cycle_summary(report, problems))
        return
    out = console()
    stats = report.sync.stats
    out.print(f"sync: {stats.read:,} interactions read, {report.sync.new:,} new, "
              f"{stats.pending:,} upcoming meetings waiting")
    drifting = report.analysis.drifting
    out.print(f"analysis: {len(drifting)} drifting seam(s): "
              + (", ".join(" / ".join(d) for d in drifting) or "none"))
    placed = report.place
    out.print(f"holds: {len(placed.placed)} placed, {len(placed.suggested)} suggested "
              f"(digest only), {len(placed.unscheduled)} without a free slot, "
              f"{placed.resumed} finished from an interrupted run")
    if placed.failed:
        out.print(f"[yellow]{placed.failed} hold(s) could not be placed yet; they are recorded "
                  "and placed by the next cycle[/]")
    if report.upkeep.outcomes:
        out.print("upkeep: " + ", ".join(f"{k} {v}" for k, v in report.upkeep.outcomes.items()))
    out.print(f"digests sent: {report.digests_sent}")
    if report.digests.held_back:
        out.print(f"digests: {report.digests.held_back}")
    if report.digests.in_doubt:
        out.print(f"[yellow]{report.digests.in_doubt} digest(s) were interrupted while sending "
                  "earlier and may have arrived; they are not sent again[/]")
    for line in report.rules_errors:
        out.print(f"[red]rules error (last good rules kept):[/] {line}")


def _change_opt_out(config_path: Path, email: str, opting_out: bool) -> str:
    """Appended to the store's opt-out inbox: works while the daemon runs (no lock).

    The address must be in the directory: an opt-out of a misspelt address
    would be kept and do nothing.
    """
    from agent.config import secret_key
    from agent.preflight import directory_person
    from agent.pseudonym import Pseudonymiser
    from agent.store import OptOutInbox

    address = email.strip().lower()
    if "@" not in address:
        raise BridgeworkError(f"{email!r} is not an e-mail address")
    config = _load(config_path)
    directory_person(config, address)
    pseudonym = Pseudonymiser(secret_key(config.secret, config.store.path)).person(address)
    OptOutInbox(config.store.path).append(opting_out, pseudonym)
    return address


@main.command("opt-out", context_settings=CONTEXT)
@click.argument("email")
@config_option
@json_option
def opt_out(email: str, config_path: Path, as_json: bool) -> None:
    """Stop suggestions for EMAIL (a person in the directory); their holds are released at the
    next cycle."""
    address = _change_opt_out(config_path, email, True)
    if as_json:
        print_json({"email": address, "opted_out": True})
        return
    click.echo(f"{address} opted out; their holds are released at the next cycle (or hold upkeep)")


@main.command("opt-in", context_settings=CONTEXT)
@click.argument("email")
@config_option
@json_option
def opt_in(email: str, config_path: Path, as_json: bool) -> None:
    """Undo an opt-out for EMAIL (a person in the directory)."""
    address = _change_opt_out(config_path, email, False)
    if as_json:
        print_json({"email": address, "opted_out": False})
        return
    click.echo(f"{address} takes part again from the next cycle")


@main.command(context_settings=CONTEXT)
@config_option
@json_option
def status(config_path: Path, as_json: bool) -> None:
    """What the last cycle did, what comes next, holds by state, opt-outs and the last errors.

    Reads the state only: it works beside a running daemon and writes nothing.
    """
    from agent.config import load_config
    from agent.status import read_status, status_lines
    from connectors.common.clock import system_clock

    config = load_config(config_path)
    result = read_status(config, config_path, system_clock())
    if as_json:
        print_json(result.as_json())
        return
    for line in status_lines(result):
        click.echo(line)


@main.command(context_settings=CONTEXT)
@click.option("--people", default=200, show_default=True, help="How many people.")
@click.option("--weeks", default=40, show_default=True, help="Weeks of history.")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same org).")
@click.option("--out", "out_path", default="demo-data", show_default=True,
              type=click.Path(file_okay=False), help="Where to write the data directory.")
@click.option("--no-drift", is_flag=True, help="Plant no drift (a control organisation).")
@json_option
def demo(people: int, weeks: int, seed: int, out_path: str, no_drift: bool, as_json: bool) -> None:
    """Generate an organisation with planted drift, then show what Bridgework finds."""
    from agent.dryrun import as_json as result_json
    from agent.dryrun import dry_run
    from agent.report import print_analysis
    from connectors.demo import generate

    if people < 20 or weeks < 12:
        raise BridgeworkError("the demo needs at least 20 people and 12 weeks")
    out = Path(out_path)
    err = console(stderr=True)
    with err.status(f"generating {people} people over {weeks} weeks"):
        truth = generate(out, people=people, weeks=weeks, seed=seed, drift=not no_drift)
    rules = load_rules(None)
    with err.status("analysing") as status:
        result = dry_run(out, rules, progress=status.update, parallel=True)
    found = {frozenset(p) for p in result.analysis.drifting}
    planted = {frozenset(p) for p in truth.drifting_pairs}
    if as_json:
        print_json({"data": str(out), "planted": [list(p) for p in truth.drifting_pairs],
                    "found_planted": len(found & planted), "flagged_unplanted": len(found - planted),
                    "analysis": result_json(result)})
        return
    shown = console()
    shown.print(f"wrote the data directory [bold]{out}[/] (planted drift: "
                + (", ".join(" / ".join(p) for p in truth.drifting_pairs) or "none") + ")")
    print_analysis(shown, result)
    shown.print(f"planted drift found: {len(found & planted)} of {len(planted)}; "
                f"flagged without planted drift: {len(found - planted)}")
    shown.print(f"next, to place these as holds: bridgework init --data {out}, then "
                "bridgework run --once, then bridgework status (README, 'From the demo to holds')")


def _register() -> None:
    from agent.cli_connect import connect
    from agent.cli_init import init
    from agent.cli_ops import doctor, export, forget
    from agent.cli_standards import caldav, imap

    connect.add_command(caldav)
    connect.add_command(imap)

    main.add_command(init)
    main.add_command(connect)
    main.add_command(doctor)
    main.add_command(forget)
    main.add_command(export)
    main.add_command(rules_group)
    main.add_command(digest_group)
    from agent.cli_holds import holds
    from agent.cli_simulate import simulate

    main.add_command(holds)
    main.add_command(simulate)


_register()

"""``bridgework holds``: every hold's story, its outcomes by seam and reason, and the uninstall."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from agent.cli_common import CONTEXT, config_option, json_option
from agent.cli_common import console as terminal
from agent.cli_digest import parse_week
from connectors.common.errors import BridgeworkError

if TYPE_CHECKING:
    from agent.config import Config
    from agent.lifecycle import OutcomeRates, Rate
    from agent.pipeline import Org
    from agent.store import TinyStore
    from rules.model import Rules

_CONFIG = config_option
_JSON = json_option


@click.group(context_settings=CONTEXT)
def holds() -> None:
    """The holds Bridgework placed: list them, explain one, release them."""


@dataclass
class _Opened:
    store: TinyStore
    org: Org
    rules: Rules


def _open(config: Config) -> _Opened:
    """The store, the directory (to name people again) and the rules in force, read only."""
    from agent.config import secret_key
    from agent.engine import RulesSource
    from agent.levels import as_ruled
    from agent.pipeline import load_org
    from agent.pseudonym import Pseudonymiser
    from agent.store import TinyStore
    from connectors.registry import build_connectors

    store = TinyStore(config.store.path)
    connectors = build_connectors(config.source)
    org = load_org(connectors.directory.people(),
                   Pseudonymiser(secret_key(config.secret, config.store.path)))
    rules = RulesSource(config.rules, config.store.path / "rules.last-good.json").current(
        org.departments)
    return _Opened(store, as_ruled(org, rules), rules)


def _load(config_path: Path) -> Config:
    from agent.config import load_config
    from agent.preflight import check_sources

    config = load_config(Path(config_path))
    check_sources(config)  # before the store is opened (and made)
    return config


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _rates_table(title: str, rates: list[Rate]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("", "held", "accepted", "met", "declined", "expired", "acceptance", "met rate"):
        table.add_column(name, justify="left" if not name else "right")
    for r in rates:
        table.add_row(r.group, str(r.held), str(r.accepted), str(r.met), str(r.declined),
                      str(r.expired), _percent(r.acceptance), _percent(r.met_rate))
    return table


def print_rates(console: Console, rates: OutcomeRates) -> None:
    console.print(_rates_table("by seam", rates.by_seam))
    console.print(_rates_table("by reason", rates.by_reason))
    console.print(f"renewed ties (pairs who met through a hold): {rates.renewed_ties}")


@holds.command("list")
@_CONFIG
@click.option("--state", "state", type=click.Choice([
    "suggested", "planned", "held", "moved", "accepted", "declined", "expired", "cancelled", "met",
    "missed"]), help="Only holds in this state.")
@click.option("--person", help="Only holds with this person (an e-mail).")
@click.option("--week", help="Only holds planned in this ISO week, like 2026-W09.")
@_JSON
def list_holds(config_path: Path, state: str | None, person: str | None, week: str | None,
               as_json: bool) -> None:
    """Every hold with its state, and acceptance and met rates by seam and by reason."""
    from agent.holdviews import iso_week, ledger_week, rates_of, select
    from agent.lifecycle import Stage

    opened = _open(_load(config_path))
    views = select(opened.store.suggestions(), opened.org,
                   state=Stage(state) if state else None, person=person,
                   week=ledger_week(parse_week(week)) if week else None)
    rates = rates_of(views, opened.org)
    if as_json:
        click.echo(json.dumps({"holds": [v.as_json(opened.org) for v in views],
                               "rates": rates.as_json()}, indent=1))
        return
    console = terminal()
    table = Table(title=f"{len(views)} hold(s)", title_justify="left")
    for name in ("id", "state", "week", "people", "seam", "reason", "time (UTC)"):
        table.add_column(name)
    for v in views:
        r = v.record
        table.add_row(r.id[:10], r.status.value, iso_week(r.week), ", ".join(v.emails),
                      " / ".join(sorted(set(r.departments))), v.label, _utc(r.start))
    console.print(table)
    print_rates(console, rates)


def _utc(start: str | None) -> str:
    """A hold's start as the status report writes it; "-" for a suggestion without a slot."""
    if not start:
        return "-"
    return f"{dt.datetime.fromisoformat(start).astimezone(dt.UTC):%a %d %b %Y %H:%M}"


@holds.command()
@click.argument("hold_id")
@_CONFIG
@_JSON
def explain(hold_id: str, config_path: Path, as_json: bool) -> None:
    """Why these people, why this time, and every transition of one hold (an id or its start)."""
    from agent.holdviews import explain_lines, find, view, why_people, why_slot

    opened = _open(_load(config_path))
    record = find(opened.store.suggestions(), hold_id)
    if record is None:
        raise BridgeworkError(f"no hold has the id {hold_id!r} (or more than one starts with it); "
                              "`bridgework holds list` shows them")
    item = view(record, opened.org)
    if as_json:
        click.echo(json.dumps({**item.as_json(opened.org),
                               "why_people": why_people(item, opened.org, opened.rules),
                               "why_time": why_slot(item, opened.org, opened.rules)
                               if record.start else []}, indent=1))
        return
    for line in explain_lines(item, opened.org, opened.rules):
        click.echo(line)


@holds.command()
@click.argument("hold_id", required=False)
@click.option("--all", "everything", is_flag=True,
              help="Every hold, past ones too: the uninstall. Stop the daemon first.")
@_CONFIG
@click.option("--dry-run", is_flag=True, help="Say what would be released; change nothing.")
@_JSON
def release(hold_id: str | None, everything: bool, config_path: Path, dry_run: bool,
            as_json: bool) -> None:
    """Take one hold, or all of them, off every calendar; the store records it."""
    from agent.engine import open_engine
    from agent.holdviews import find
    from agent.store import lock_store
    from agent.uninstall import releasable, release_holds

    if everything == bool(hold_id):
        raise BridgeworkError("give either a hold id or --all")
    config = _load(config_path)
    with lock_store(config.store.path):  # never while the daemon places holds
        engine = open_engine(config)
        if engine.connectors.calendar is None:
            raise BridgeworkError("the configured source has no calendar: no hold can be on one")
        org, rules = engine.org_and_rules()
        records = engine.store.suggestions()
        if not everything:
            found = find(records, hold_id or "")
            if found is None:
                raise BridgeworkError(f"no hold has the id {hold_id!r} (or more than one starts "
                                      "with it); `bridgework holds list` shows them")
            records = [found]
        report = release_holds(engine.connectors.calendar, engine.store, org, rules,
                               releasable(records), engine.clock(), everything=everything,
                               dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=1))
    else:
        verb = "would release" if dry_run else "released"
        click.echo(f"{verb} {len(report.released)} hold(s); {len(report.absent)} were no longer "
                   "on a calendar")
        for id_ in report.not_ours:
            click.echo(f"left alone: {id_} no longer carries Bridgework's mark")
        for id_ in report.unreachable:
            click.echo(f"cannot reach {id_}: its organiser left the directory")
        for id_, why in report.failed.items():
            click.echo(f"failed: {id_}: {why} (run it again)")
        if everything and not dry_run and report.complete:
            click.echo("no event with Bridgework's mark is left on any calendar it placed one on")
    if not report.complete:
        raise SystemExit(1)

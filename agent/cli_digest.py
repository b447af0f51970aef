"""``bridgework digest``: preview a digest from data, or send one week's by hand."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent.cli_common import CONTEXT, config_option, json_option, print_json
from agent.cli_common import console as terminal
from connectors.common.errors import BridgeworkError

if TYPE_CHECKING:
    from agent.config import Config
    from agent.engine import CycleReport, Engine

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@click.group(context_settings=CONTEXT)
def digest() -> None:
    """Preview the weekly digests, or send one week's by hand."""


@digest.command(context_settings=CONTEXT)
@click.option("--audience", type=click.Choice(["person", "manager", "admin"]), required=True,
              help="Whose kind of digest: a person's, a manager's or the admins'.")
@click.option("--who", help="Whose digest (an e-mail); default: a full example.")
@click.option("--data", "data_path", type=click.Path(file_okay=False), help="A data directory.")
@click.option("--demo", is_flag=True, help="Use the demo organisation (generated, 200 people).")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False), help="A rules file.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Where to write the HTML part (the plain text goes beside it, as .txt).")
@json_option
def preview(audience: str, who: str | None, data_path: str | None, demo: bool,
            rules_path: str | None, out_path: str, as_json: bool) -> None:
    """Write what one digest would look like, after one cycle over the data."""
    from agent.preview import preview as make_preview
    from rules.loader import load_rules

    if bool(data_path) == demo:
        raise BridgeworkError("give either --data DIR or --demo")
    console = terminal(stderr=True)
    with tempfile.TemporaryDirectory(prefix="bridgework-demo-") as scratch:
        if demo:
            from connectors.demo import generate

            data = Path(scratch) / "demo"
            with console.status("generating the demo organisation"):
                generate(data, people=200, weeks=40, seed=1)
        else:
            from agent.cli_rules import data_dir

            data = data_dir(data_path or ".")
        rules = load_rules(Path(rules_path) if rules_path else None)
        with console.status("running one cycle") as status:
            result = make_preview(data, rules, audience, who, progress=status.update)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.message.html or "", encoding="utf-8")
    out.with_suffix(".txt").write_text(result.message.text, encoding="utf-8")
    if as_json:
        print_json({"audience": audience, "to": result.message.to, "week": result.week,
                    "subject": result.message.subject, "html": str(out),
                    "text": str(out.with_suffix(".txt"))})
        return
    click.echo(f"{audience} digest for {result.message.to} ({result.week}): {out} "
               f"(plain text: {out.with_suffix('.txt')})")
    click.echo(f"subject: {result.message.subject}")


def parse_week(value: str) -> str:
    match = _WEEK.match(value)
    if not match:
        raise BridgeworkError(f"--week: expected a week like 2026-W48, got {value!r}")
    try:
        dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise BridgeworkError(f"--week: {value} is not a week of that year") from None
    return value


@digest.command(context_settings=CONTEXT)
@config_option
@click.option("--week", required=True, help="The ISO week, like 2026-W48 (this one or the last).")
@click.option("--dry-run", is_flag=True, help="Say who would get what; send and write nothing.")
@json_option
def send(config_path: Path, week: str, dry_run: bool, as_json: bool) -> None:
    """Send one week's digests now: each recipient at most once per week, however often run."""
    from agent.config import load_config
    from agent.preflight import check_sources
    from agent.readonly import open_read_only_engine
    from agent.store import lock_store

    week = parse_week(week)
    config = load_config(config_path)
    check_sources(config)
    if dry_run:
        engine = open_read_only_engine(config)
        report = engine.digests(now=_moment(engine, week), force=True)
        if as_json:
            print_json({"week": week, "dry_run": True, "already_sent": report.already_sent,
                        "in_doubt": report.in_doubt,
                        "would_send": [{"kind": m.key.split("/")[0], "to": m.to,
                                        "subject": m.subject} for m in report.messages]})
            return
        for message in report.messages:
            click.echo(f"would send: {message.key.split('/')[0]:8} {message.to}  {message.subject}")
        click.echo(f"{len(report.messages)} digest(s) would be sent, {report.already_sent} were "
                   f"sent already, {report.in_doubt} in doubt; nothing was sent or written")
        return
    from agent.engine import open_engine

    with lock_store(config.store.path):
        engine = open_engine(config)
        report = engine.digests(now=_moment(engine, week), force=True)
    if as_json:
        print_json({"week": week, "dry_run": False, "sent": report.sent,
                    "already_sent": report.already_sent, "in_doubt": report.in_doubt})
        return
    click.echo(f"{report.sent} digest(s) sent for {week}, {report.already_sent} sent before")
    if report.in_doubt:
        click.echo(f"{report.in_doubt} digest(s) were interrupted while sending earlier and may have "
                   "arrived; they are not sent again")


def _moment(engine: Engine, week: str) -> dt.datetime:
    from agent.pipeline.digests import week_moment

    now = engine.clock()
    moment = week_moment(week, engine.rules_source.current(), now)
    this_week = now.isocalendar()[:2]
    year, number = (int(x) for x in week.split("-W"))
    last_week = (now - dt.timedelta(weeks=1)).isocalendar()[:2]
    if (year, number) not in (this_week, last_week):
        raise BridgeworkError(f"--week {week}: only this week or the last can be sent "
                              "(older figures would no longer be that week's)")
    return moment


def dry_run_cycle(config: Config, once: bool, show: Callable[[CycleReport], None]) -> CycleReport:
    """``run --once --dry-run``: the whole cycle against the real sources, nothing written."""
    from agent.readonly import open_read_only_engine

    if not once:
        raise BridgeworkError("--dry-run runs one cycle: use it with --once")
    engine = open_read_only_engine(config)
    with terminal(stderr=True).status("running one cycle (dry run)") as status:
        report = engine.run_once(progress=status.update)
    show(report)
    would = [m.to for m in report.digests.messages]
    click.echo(f"dry run: nothing was written or sent; {len(report.place.placed)} hold(s) would be "
               f"placed and {len(would)} digest(s) sent"
               + (f" (to {', '.join(would[:5])}{', ...' if len(would) > 5 else ''})" if would else ""))
    return report

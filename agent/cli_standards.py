"""``bridgework connect caldav`` and ``connect imap``: sign in, list what is seen, name what is missing.

The checks live in the connector packages (``connectors.caldav.check``,
``connectors.imap.check``) and return results; this module loads the
configuration and the rules' hold mode, and prints.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent.cli_common import CONTEXT, config_option, json_option, print_json
from connectors.base import Connectors, HoldMode, Person
from connectors.common.errors import ConfigError, PermissionMissing

if TYPE_CHECKING:
    from agent.config import Config


def _config_and_people(config_path: Path) -> tuple[Config, Connectors, list[Person]]:
    from agent.config import load_config
    from connectors.registry import build_connectors

    config = load_config(config_path)
    connectors = build_connectors(config.source)
    return config, connectors, list(connectors.directory.people())


def _missing(problems: list[tuple[str, str]], total: int, what: str) -> None:
    if problems:
        raise PermissionMissing(f"{len(problems)} of {total} people without {what}: "
                                + "; ".join(f"{who}: {why}" for who, why in problems[:3])
                                + (" ..." if len(problems) > 3 else ""))


@click.command("caldav", context_settings=CONTEXT)
@click.option("--check", is_flag=True, help="Sign in and list each person's calendars.")
@config_option
@json_option
def caldav(check: bool, config_path: Path, as_json: bool) -> None:
    """CalDAV calendars: sign-in, calendar homes, where holds would go."""
    from agent.cli_connect import hold_mode
    from connectors.caldav.calendar import CalDavCalendar
    from connectors.caldav.check import check_connection
    from connectors.caldav.settings import CalDavSettings

    config, connectors, people = _config_and_people(config_path)
    settings = config.source
    if not isinstance(settings, CalDavSettings) or not isinstance(connectors.calendar,
                                                                  CalDavCalendar):
        raise ConfigError(f"{config_path}: source.type is {settings.type!r}, not 'caldav'")
    mode = hold_mode(config)
    how = (f"as {settings.username} for everyone" if settings.username
           else f"with the sign-ins in {settings.accounts_file}")
    if as_json:
        result = check_connection(connectors.calendar, people, mode) if check else None
        print_json({"url": settings.url, "mode": mode.value, "people": len(people),
                    "checked": check, **(asdict(result) if result else {})})
        if result:
            _missing([(p.email, p.problem) for p in result.missing if p.problem], len(people),
                     "usable calendars")
        return
    click.echo(f"CalDAV {settings.url} {how}, mode {mode.value}, {len(people)} people")
    if not check:
        click.echo("add --check to sign in and list what each person's account shows")
        return
    result = check_connection(connectors.calendar, people, mode)
    for person in result.people:
        if person.problem:
            click.echo(f"  MISSING {person.email}: {person.problem}")
            continue
        tokens = "sync-token" if person.sync_tokens else "ctag/etag (no sync-token)"
        write = {True: "writable", False: "read-only", None: "rights not shown"}[person.may_write]
        holds = f"; holds in {person.hold_calendar} ({write})" if mode is not HoldMode.SUGGEST else ""
        click.echo(f"  ok      {person.email}: {len(person.calendars)} calendar(s) "
                   f"({', '.join(person.calendars)}), {tokens}{holds}")
    if mode is HoldMode.INVITE and result.server_schedules is not None:
        click.echo("invitations: the server delivers them (CalDAV scheduling)"
                   if result.server_schedules else
                   "invitations: the server does not schedule; with invitations: auto "
                   "Bridgework writes them into the invitees' calendars")
    click.echo(f"{result.requests} requests")
    _missing([(p.email, p.problem) for p in result.missing if p.problem], len(people),
             "usable calendars")
    click.echo("every person's calendars can be read")


@click.command("imap", context_settings=CONTEXT)
@click.option("--check", is_flag=True, help="Sign in for each person and name their folders.")
@config_option
@json_option
def imap(check: bool, config_path: Path, as_json: bool) -> None:
    """IMAP mail metadata: sign-in per mailbox, sent folder, message counts."""
    from connectors.imap.check import check_connection
    from connectors.imap.mail import ImapMail

    _, connectors, people = _config_and_people(config_path)
    mail = connectors.mail
    if not isinstance(mail, ImapMail):
        raise ConfigError(f"{config_path}: no IMAP source (type: imap, or an imap: section "
                          "beside type: caldav)")
    s = mail.settings
    how = (f"as {s.username} acting for each person" if s.username
           else f"with the sign-ins in {s.accounts_file}")
    if as_json:
        boxes = check_connection(mail, people) if check else []
        print_json({"host": s.host, "port": s.effective_port, "people": len(people),
                    "checked": check, "mailboxes": [asdict(b) for b in boxes]})
        _missing([(b.email, b.problem) for b in boxes if b.problem], len(people), "readable mail")
        return
    click.echo(f"IMAP {s.host}:{s.effective_port} ({s.security}) {how}, {len(people)} people")
    if not check:
        click.echo("add --check to sign in to each mailbox")
        return
    found = check_connection(mail, people)
    for box in found:
        if box.problem:
            click.echo(f"  MISSING {box.email}: {box.problem}")
        else:
            click.echo(f"  ok      {box.email}: sent folder {box.sent_folder!r} "
                       f"({box.sent_messages} messages), INBOX ({box.inbox_messages})")
    click.echo(f"{mail.commands} commands")
    _missing([(b.email, b.problem) for b in found if b.problem], len(people), "readable mail")
    click.echo("every mailbox can be read")

"""``bridgework connect caldav|imap --check`` against the real servers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from click.testing import CliRunner

from agent.cli import main
from connectors.base import Person
from tests.servers.dovecot import MASTER, MASTER_PASSWORD, Dovecot
from tests.servers.radicale import ADMIN, ADMIN_PASSWORD, Radicale
from tests.servers.world import mail_bytes, private_file, write_people

PEOPLE = [Person("ada@example.org", "Engineering"), Person("linus@example.org", "Sales"),
          Person("nobody@example.org", "Legal")]


def config(tmp: Path, radicale: Radicale, dovecot: Dovecot, mode: str = "hold") -> Path:
    write_people(tmp / "people.csv", PEOPLE)
    (tmp / "rules.yaml").write_text(yaml.safe_dump({"meetings": {"mode": mode}}))
    private_file(tmp / "caldav.secret", ADMIN_PASSWORD)
    private_file(tmp / "imap.secret", MASTER_PASSWORD)
    path = tmp / "bridgework.yaml"
    path.write_text(yaml.safe_dump({
        "source": {"type": "caldav", "url": radicale.url, "people": "people.csv",
                   "username": ADMIN, "password_file": "caldav.secret", "max_retries": 0,
                   "imap": {"host": "127.0.0.1", "port": dovecot.port, "security": "none",
                            "username": MASTER, "password_file": "imap.secret"}},
        "rules": "rules.yaml"}))
    return path


def test_connect_caldav_check_lists_calendars_and_names_who_is_missing(
        radicale: Radicale, dovecot: Dovecot, tmp_path: Path) -> None:
    radicale.make_calendar("ada@example.org")
    radicale.make_calendar("linus@example.org")
    result = CliRunner().invoke(main, ["connect", "caldav", "--check", "--config",
                                       str(config(tmp_path, radicale, dovecot, "invite"))])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"CalDAV {radicale.url} as admin for everyone, mode invite, 3 people")
    assert any(line.startswith("  ok      ada@example.org: 1 calendar(s) (Calendar), sync-token; "
                               "holds in /ada@example.org/calendar/ (writable)") for line in lines)
    assert any(line.startswith("  MISSING nobody@example.org: no calendar home (404 at "
                               "/nobody@example.org/)") for line in lines), result.output
    assert "the server does not schedule" in result.output
    assert "1 of 3 people without usable calendars: nobody@example.org" in result.output
    assert ADMIN_PASSWORD not in result.output


def test_connect_imap_check_names_each_mailbox(radicale: Radicale, dovecot: Dovecot,
                                               tmp_path: Path) -> None:
    when = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    dovecot.append("ada@example.org", "Sent",
                   mail_bytes("<1@x>", when, "ada@example.org", ["linus@example.org"]))
    path = config(tmp_path, radicale, dovecot)
    result = CliRunner().invoke(main, ["connect", "imap", "--check", "--config", str(path)])
    assert "  ok      ada@example.org: sent folder 'Sent' (1 messages), INBOX (0)" in result.output
    assert "  MISSING nobody@example.org: the IMAP server refused the sign-in" in result.output
    assert result.exit_code == 2 and MASTER_PASSWORD not in result.output

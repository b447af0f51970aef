"""The IMAP reader against a real Dovecot: incremental, UIDVALIDITY, odd mail, sign-in ways."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.base import Interaction, Person, SyncChunk
from connectors.common.clock import fixed_clock
from connectors.common.errors import ConnectorError, PermissionMissing
from connectors.imap import build_mail
from connectors.imap.mail import ImapMail
from connectors.imap.settings import ImapServer
from tests.servers.dovecot import MASTER, MASTER_PASSWORD, Dovecot
from tests.servers.fixtures import PASSWORDS
from tests.servers.world import mail_bytes, private_file

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
ADA = Person("ada@example.org", "Engineering")
LINUS = Person("linus@example.org", "Sales")
T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def reader(dovecot: Dovecot, tmp: Path, **extra: object) -> ImapMail:
    settings = ImapServer.model_validate({
        "host": "127.0.0.1", "port": dovecot.port, "security": "none", "username": MASTER,
        "password_file": private_file(tmp / "master.secret", MASTER_PASSWORD),
        "backoff_seconds": 0, **extra})
    return build_mail(settings, clock=fixed_clock(NOW))


def sync(mail: ImapMail, people: list[Person],
         cursors: dict[str, str]) -> tuple[list[Interaction], list[SyncChunk]]:
    chunks = list(mail.read(people, cursors))
    for chunk in chunks:
        if chunk.cursor is not None:
            cursors[chunk.cursor_key] = chunk.cursor
    return [i for c in chunks for i in c.interactions], chunks


def test_only_new_mail_is_fetched_and_an_idle_mailbox_costs_two_status_commands(
        dovecot: Dovecot, tmp_path: Path) -> None:
    dovecot.append("ada@example.org", "Sent",
                   mail_bytes("<1@x>", T, "ada@example.org", ["linus@example.org"]), T)
    dovecot.append("ada@example.org", "INBOX",
                   mail_bytes("<2@x>", T, "linus@example.org", ["ada@example.org"]), T)
    mail = reader(dovecot, tmp_path)
    cursors: dict[str, str] = {}
    first, _ = sync(mail, [ADA], cursors)
    assert sorted(i.id for i in first) == ["<1@x>", "<2@x>"]
    before = mail.commands
    idle, chunks = sync(mail, [ADA], cursors)
    assert idle == [] and chunks == []
    assert mail.commands - before == 3  # sign-in, then STATUS of Sent and of INBOX
    later = T + dt.timedelta(days=1)
    dovecot.append("ada@example.org", "INBOX",
                   mail_bytes("<3@x>", later, "linus@example.org", ["ada@example.org"]), later)
    new, _ = sync(mail, [ADA], cursors)
    assert [i.id for i in new] == ["<3@x>"]


def test_headers_are_read_without_marking_anything_seen(dovecot: Dovecot, tmp_path: Path) -> None:
    dovecot.append("ada@example.org", "INBOX",
                   mail_bytes("<s@x>", T, "linus@example.org", ["ada@example.org"]), T)
    sync(reader(dovecot, tmp_path), [ADA], {})
    with dovecot.client("ada@example.org") as client:
        client.select_folder("INBOX", readonly=True)
        assert all(b"\\Seen" not in flags for flags in client.get_flags(client.search()).values())


def test_a_new_uidvalidity_reads_the_folder_again(dovecot: Dovecot, tmp_path: Path) -> None:
    dovecot.append("ada@example.org", "Sent",
                   mail_bytes("<1@x>", T, "ada@example.org", ["linus@example.org"]), T)
    mail = reader(dovecot, tmp_path, inbox=False)
    cursors: dict[str, str] = {}
    sync(mail, [ADA], cursors)
    with dovecot.client("ada@example.org") as client:
        old = client.folder_status("Sent", ["UIDVALIDITY"])[b"UIDVALIDITY"]
        client.delete_folder("Sent")
        time.sleep(1.05)  # Dovecot takes a new UIDVALIDITY from the clock's seconds
        client.create_folder("Sent")
        assert client.folder_status("Sent", ["UIDVALIDITY"])[b"UIDVALIDITY"] != old
    dovecot.append("ada@example.org", "Sent",
                   mail_bytes("<1@x>", T, "ada@example.org", ["linus@example.org"]), T)
    dovecot.append("ada@example.org", "Sent",
                   mail_bytes("<9@x>", T, "ada@example.org", ["linus@example.org"]), T)
    again, chunks = sync(mail, [ADA], cursors)
    assert sorted(i.id for i in again) == ["<1@x>", "<9@x>"]  # all of it, old UIDs mean nothing
    assert all(c.resynced for c in chunks)


def test_odd_mail_is_read_where_it_can_be_and_reported_by_folder_and_uid(
        dovecot: Dovecot, tmp_path: Path) -> None:
    good = mail_bytes("<ok@x>", T, "linus@example.org", ["ada@example.org"])
    broken_date = (b"From: linus@example.org\r\nTo: ada@example.org\r\nDate: yesterday-ish\r\n"
                   b"Message-ID: <d@x>\r\n\r\nbody\r\n")
    no_sender = b"To: ada@example.org\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\nbody\r\n"
    for raw in (good, broken_date, no_sender):
        dovecot.append("ada@example.org", "INBOX", raw, T)
    mail = reader(dovecot, tmp_path)
    found, _ = sync(mail, [ADA], {})
    assert sorted(i.id for i in found) == ["<d@x>", "<ok@x>"]
    dated = next(i for i in found if i.id == "<d@x>")
    assert dated.start == T  # the arrival time the server kept
    assert list(mail.problems) == [
        "imap://ada@example.org/INBOX:UID 2: unparseable Date header; using the server's "
        "arrival time",
        "imap://ada@example.org/INBOX:UID 3: no usable From address; skipped"]


def test_without_special_use_the_configured_sent_folder_is_read(tmp_path: Path) -> None:
    server = Dovecot(PASSWORDS, special_use=False)
    try:
        server.append("ada@example.org", "Gesendet",
                      mail_bytes("<g@x>", T, "ada@example.org", ["linus@example.org"]), T)
        found, _ = sync(reader(server, tmp_path, sent_folder="Gesendet", inbox=False), [ADA], {})
        assert [i.id for i in found] == ["<g@x>"]
        missing = reader(server, tmp_path, sent_folder="Sent Items", inbox=False)
        assert sync(missing, [ADA], {})[0] == []
        assert [p.split(": ", 1)[1] for p in missing.problems] == [
            "no folder marked \\Sent and none named 'Sent Items'; sent mail is not read"]
    finally:
        server.stop()


def test_the_master_user_may_also_sign_in_with_the_separator(dovecot: Dovecot,
                                                              tmp_path: Path) -> None:
    dovecot.append("linus@example.org", "INBOX",
                   mail_bytes("<l@x>", T, "ada@example.org", ["linus@example.org"]), T)
    found, _ = sync(reader(dovecot, tmp_path, master_separator="*"), [LINUS], {})
    assert [i.id for i in found] == ["<l@x>"]


@pytest.fixture
def accounts(tmp_path: Path) -> Iterator[Path]:
    rows = ["email,username,password", f"ada@example.org,ada@example.org,{PASSWORDS['ada@example.org']}",
            "linus@example.org,linus@example.org,wrong-password"]
    yield private_file(tmp_path / "accounts.csv", "\n".join(rows) + "\n")


def test_per_person_sign_in_skips_who_is_refused_and_names_it(
        tmp_path: Path, accounts: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Dovecot slows repeated refusals from one address down (its auth penalty): each
    # refusal here gets a server of its own
    for people, refused_everyone in (([ADA, LINUS], False), ([LINUS], True)):
        server = Dovecot(PASSWORDS)
        try:
            server.append("ada@example.org", "INBOX",
                          mail_bytes("<a@x>", T, "linus@example.org", ["ada@example.org"]), T)
            settings = ImapServer(host="127.0.0.1", port=server.port, security="none",
                                  accounts_file=accounts, backoff_seconds=0)
            mail = build_mail(settings, clock=fixed_clock(NOW))
            if refused_everyone:
                with pytest.raises(PermissionMissing, match=r"linus@example\.org"):
                    sync(mail, people, {})
                continue
            found, _ = sync(mail, people, {})
            assert [i.id for i in found] == ["<a@x>"]
            assert "refused the sign-in for linus@example.org" in caplog.text
            assert "wrong-password" not in caplog.text
        finally:
            server.stop()


def test_an_unreachable_server_is_an_error_after_retries(tmp_path: Path) -> None:
    from tests.servers.common import free_port

    settings = ImapServer(host="127.0.0.1", port=free_port(), security="none", username=MASTER,
                          password_file=private_file(tmp_path / "s", "x"), max_retries=2,
                          backoff_seconds=0)
    with pytest.raises(ConnectorError, match="cannot reach the IMAP server"):
        list(build_mail(settings).read([ADA], {}))

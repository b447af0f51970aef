"""Header blocks as they come out of real mailboxes: encoded names, groups, broken dates."""

from __future__ import annotations

import datetime as dt

from connectors.imap.headers import parse

ARRIVED = dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC)


def read(raw: bytes, *, sent: bool = False) -> tuple[object, list[str]]:
    parsed = parse(raw, ARRIVED, owner="ada@example.org", sent_folder=sent)
    return parsed.interaction, parsed.problems


def test_encoded_names_and_groups_give_every_address_once() -> None:
    interaction, problems = read(
        b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <Jurgen@Example.org>\r\n"
        b"To: team: ada@example.org, =?iso-8859-1?q?Lin=FAs?= <linus@example.org>;,"
        b" \"Odd, Name\" <odd@example.org>\r\n"
        b"Cc: undisclosed-recipients:;, ada@example.org\r\n"
        b"Date: Mon, 2 Mar 2026 09:00:00 +0100\r\nMessage-ID: <m1@example.org>\r\n\r\n")
    assert problems == []
    assert interaction.participants == ("jurgen@example.org", "ada@example.org",
                                        "linus@example.org", "odd@example.org")
    assert interaction.size == 3  # the duplicate Cc counts once
    assert interaction.start == dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    assert interaction.id == "<m1@example.org>"


def test_a_broken_date_falls_back_to_the_arrival_time_and_says_so() -> None:
    interaction, problems = read(b"From: ada@example.org\r\nTo: linus@example.org\r\n"
                                 b"Date: sometime last week\r\n\r\n")
    assert interaction.start == ARRIVED
    assert problems == ["unparseable Date header; using the server's arrival time"]


def test_missing_and_impossible_dates_and_unknown_zones() -> None:
    missing, problems = read(b"From: ada@example.org\r\nTo: linus@example.org\r\n\r\n")
    assert missing.start == ARRIVED and problems == ["no Date header; using the server's arrival time"]
    ancient, problems = read(b"From: ada@example.org\r\nTo: b@example.org\r\n"
                             b"Date: Mon, 2 Mar 1601 09:00:00 +0000\r\n\r\n")
    assert ancient.start == ARRIVED and "implausible Date year 1601" in problems[0]
    unknown_zone, problems = read(b"From: ada@example.org\r\nTo: b@example.org\r\n"
                                  b"Date: Mon, 2 Mar 2026 09:00:00 -0000\r\n\r\n")
    assert unknown_zone.start == dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC) and problems == []


def test_raw_eight_bit_bytes_and_junk_addresses_are_tolerated_and_reported() -> None:
    interaction, problems = read(b"From: \xff\xfe Sm\xe9th <smith@example.org>\r\n"
                                 b"To: <<<@@@>>>, ok@example.org\r\n"
                                 b"Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\n")
    assert interaction.participants == ("smith@example.org", "ok@example.org")
    assert any(p.startswith("odd From header") for p in problems)
    assert any(p.startswith("odd To header") for p in problems)


def test_without_a_from_a_sent_message_is_the_owners_and_a_received_one_is_skipped() -> None:
    raw = b"To: linus@example.org\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\n"
    sent, problems = read(raw, sent=True)
    assert sent.participants == ("ada@example.org", "linus@example.org")
    assert problems == ["no usable From address; the mailbox owner sent it"]
    received, problems = read(raw)
    assert received is None and problems == ["no usable From address; skipped"]


def test_a_message_without_message_id_gets_the_same_id_in_every_mailbox() -> None:
    raw = (b"From: ada@example.org\r\nTo: linus@example.org, grace@example.org\r\n"
           b"Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\n")
    first, _ = read(raw)
    again = parse(raw, None, owner="linus@example.org", sent_folder=False).interaction
    assert first.id == again.id and first.id.endswith("@bridgework.imap>")

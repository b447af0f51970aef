"""The ledger: counting rules, idempotence, future meetings, pseudonyms at rest."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import stat
from pathlib import Path

import numpy as np
import pytest

from agent.ledger import MAX_SEGMENTS, SCHEMA, LedgerFiles, WeekContacts, read_table, week_of, weigh
from agent.pseudonym import Pseudonymiser
from connectors.base import Interaction, InteractionKind
from connectors.common.errors import ConfigError
from rules.model import Signals
from tests.fakes.old_schemas import as_schema, as_schema_3

KEY = b"ledger-test-key-0123456789"
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
T = dt.datetime(2026, 11, 10, 10, tzinfo=dt.UTC)
MEMBERS = {f"p{i}@x.org": None for i in range(40)}


def meeting(id_: str, people: tuple[str, ...], hours: float = 1.0, start: dt.datetime = T,
            size: int | None = None, cancelled: bool = False) -> Interaction:
    return Interaction(id_, InteractionKind.MEETING, start, people, size or len(people),
                       dt.timedelta(hours=hours), cancelled)


def mail(id_: str, people: tuple[str, ...], start: dt.datetime = T) -> Interaction:
    return Interaction(id_, InteractionKind.EMAIL, start, people, len(people) - 1)


def test_meeting_weight_is_shared_duration() -> None:
    pairs = weigh(meeting("m", ("a", "b", "c")), [0, 1, 2], Signals())
    assert sorted(pairs) == [(0, 1, 0.5), (0, 2, 0.5), (1, 2, 0.5)]
    # each person's total equals the meeting's length
    assert sum(w for a, b, w in pairs if 0 in (a, b)) == pytest.approx(1.0)


def test_broadcasts_and_cancelled_meetings_give_nothing() -> None:
    big = meeting("all-hands", tuple(f"p{i}" for i in range(30)), size=30)
    assert weigh(big, list(range(30)), Signals()) == []
    assert weigh(meeting("c", ("a", "b"), cancelled=True), [0, 1], Signals()) == []


def test_mail_weighs_a_tenth_shared_among_recipients(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    ledger.add([mail("e1", ("p1@x.org", "p2@x.org")),
                mail("e2", ("p1@x.org", "p2@x.org", "p3@x.org")),
                mail("e3", ("outsider@else.com", "p1@x.org", "p2@x.org")),  # not ours: nothing
                mail("e4", ("p1@x.org", *(f"p{i}@x.org" for i in range(2, 30))))],  # broadcast
               MEMBERS, NOW)
    ledger.commit(NOW)
    assert total(ledger) == pytest.approx(0.1 + 0.1)


def open_ledger(tmp: Path, key: bytes = KEY) -> LedgerFiles:
    return LedgerFiles(tmp / "ledger", Pseudonymiser(key), Signals())


def total(ledger: LedgerFiles) -> float:
    table = read_table(ledger, week_of(T) - 2, week_of(T) + 2)
    return float(table.weight.sum())


def test_same_interaction_is_counted_once_across_commits_and_restarts(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    m = meeting("m1", ("p1@x.org", "p2@x.org"))
    ledger.add([m, m], MEMBERS, NOW)
    assert ledger.commit(NOW) == 1
    ledger.add([m], MEMBERS, NOW)
    assert ledger.commit(NOW) == 0
    again = open_ledger(tmp_path)
    again.add([m, meeting("m2", ("p1@x.org", "p3@x.org"))], MEMBERS, NOW)
    assert again.commit(NOW) == 1
    assert total(again) == pytest.approx(2.0)


def test_externals_are_not_counted(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    stats = ledger.add([meeting("m", ("p1@x.org", "someone@elsewhere.com"))], MEMBERS, NOW)
    ledger.commit(NOW)
    assert stats.ignored == 1 and total(ledger) == 0


def test_future_meetings_wait_and_cancellations_remove_them(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    later = NOW + dt.timedelta(days=2)
    ledger.add([meeting("f1", ("p1@x.org", "p2@x.org"), start=later),
                meeting("f2", ("p1@x.org", "p3@x.org"), start=later)], MEMBERS, NOW)
    ledger.commit(NOW)
    assert ledger.weeks() == []
    ledger.add([meeting("f2", ("p1@x.org", "p3@x.org"), start=later, cancelled=True)], MEMBERS, NOW)
    ledger.commit(NOW)
    after = later + dt.timedelta(hours=2)
    reopened = open_ledger(tmp_path)
    reopened.commit(after)
    table = read_table(reopened, week_of(later), week_of(later))
    assert float(table.weight.sum()) == pytest.approx(1.0)


def test_a_different_key_is_refused(tmp_path: Path) -> None:
    open_ledger(tmp_path).commit(NOW)
    from connectors.common.errors import ConfigError

    with pytest.raises(ConfigError, match="different secret key"):
        open_ledger(tmp_path, b"another-key-0123456789")


def test_ledger_files_hold_no_address_subject_or_body(tmp_path: Path) -> None:
    """Feed interactions as a connector would after reading rich events; nothing leaks."""
    subject, body = "Secret merger with ACME", "Please keep the Q3 layoffs quiet"
    # A connector may carry anything in an id; the ledger must only keep a keyed digest.
    events = [meeting(f"{subject}-{i}", ("p1@x.org", "p2@x.org")) for i in range(3)]
    messages = [mail(f"<{body}-{i}@x.org>", ("p3@x.org", "p4@x.org")) for i in range(3)]
    ledger = open_ledger(tmp_path)
    ledger.add(events + messages, MEMBERS, NOW)
    ledger.commit(NOW)
    blob = b"".join(p.read_bytes() for p in (tmp_path / "ledger").iterdir())
    for secret in (subject, body, "p1@x.org", "x.org", "ACME"):
        assert secret.encode() not in blob
    expected = hmac.new(KEY, b"p1@x.org", hashlib.sha256).hexdigest()[:32]
    people = json.loads((tmp_path / "ledger" / "people.json").read_text())
    assert expected in people
    for path in (tmp_path / "ledger").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_week_files_merge_pairs(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    ledger.add([meeting(f"m{i}", ("p1@x.org", "p2@x.org")) for i in range(5)], MEMBERS, NOW)
    ledger.commit(NOW)
    contacts = ledger.load_week(week_of(T))
    assert contacts.a.size == 1 and float(contacts.weight[0]) == pytest.approx(5.0)
    assert np.all(np.diff(contacts.seen) > 0)


def test_a_week_of_several_segments_loads_as_one_row_per_pair(tmp_path: Path) -> None:
    """Each commit adds a segment; loading merges them (pairs overlapping across segments are
    summed, rows and digests stay ascending and distinct)."""
    rng = np.random.default_rng(4)
    ledger = open_ledger(tmp_path)
    want: dict[tuple[str, str], float] = {}
    for commit in range(5):
        batch = []
        for k in range(12):
            x, y = (f"p{i}@x.org" for i in rng.choice(8, 2, replace=False))
            batch.append(meeting(f"c{commit}-{k}", (x, y)))
            key = (min(x, y), max(x, y))
            want[key] = want.get(key, 0.0) + 1.0
        ledger.add(batch, MEMBERS, NOW)
        ledger.commit(NOW)
    contacts = ledger.load_week(week_of(T))
    rows = contacts.a.astype(np.int64) << 32 | contacts.b.astype(np.int64)
    assert np.all(np.diff(rows) > 0) and np.all(np.diff(contacts.seen) > 0)
    assert contacts.seen.size == 60
    ids = {ledger.id_of(p): p for p in MEMBERS}
    got = {tuple(sorted((ids[a], ids[b]))): float(w) for a, b, w in
           zip(contacts.a.tolist(), contacts.b.tolist(), contacts.weight.tolist(), strict=True)}
    assert got == pytest.approx(want)
    pairs_only = ledger.load_week(week_of(T), digests=False)  # what the analysis reads
    assert pairs_only.seen.size == 0
    for name in ("a", "b", "weight", "mail"):
        assert np.array_equal(getattr(pairs_only, name), getattr(contacts, name))


def test_ledger_counts_meetings_as_weigh_says(tmp_path: Path) -> None:
    people = ("p3@x.org", "p1@x.org", "out@else.com", "p2@x.org", "p1@x.org", "p4@x.org")
    m = meeting("big", people, hours=1.5, size=6)
    ledger = open_ledger(tmp_path)
    ledger.add([m], MEMBERS, NOW)
    ledger.commit(NOW)
    contacts = ledger.load_week(week_of(T))
    got = sorted(zip(contacts.a.tolist(), contacts.b.tolist(), contacts.weight.round(4).tolist(),
                     strict=True))
    ids = [ledger.id_of(p) for p in people if p in MEMBERS]
    want = sorted((a, b, round(w, 4)) for a, b, w in weigh(m, list(dict.fromkeys(ids)), Signals()))
    assert got == want and len(got) == 6  # four people: six pairs of 0.5 h each


def test_a_cancellation_known_only_by_id_drops_the_waiting_meeting(tmp_path: Path) -> None:
    from connectors.base import cancellation
    from connectors.google.calendar import to_interaction

    later = NOW + dt.timedelta(days=3)
    ledger = open_ledger(tmp_path)
    ledger.add([meeting("gcal:abc", ("p1@x.org", "p2@x.org"), start=later)], MEMBERS, NOW)
    ledger.commit(NOW)
    stub = to_interaction({"id": "abc", "status": "cancelled"}, "p1@x.org")  # Google's deleted stub
    assert stub == cancellation("gcal:abc")
    ledger.add([stub], MEMBERS, NOW)
    ledger.commit(NOW)
    ledger.commit(later + dt.timedelta(hours=2))
    assert ledger.weeks() == []


def test_many_commits_to_one_week_are_compacted_and_count_once(tmp_path: Path) -> None:
    from agent.ledger import MAX_SEGMENTS

    ledger = open_ledger(tmp_path)
    for i in range(MAX_SEGMENTS * 2 + 3):
        ledger.add([meeting(f"m{i}", ("p1@x.org", "p2@x.org")),
                    meeting(f"m{i}", ("p1@x.org", "p2@x.org"))], MEMBERS, NOW)  # a repeat too
        ledger.commit(NOW)
    files = sorted(p.name for p in (tmp_path / "ledger").glob("week-*.npz"))
    assert len(files) <= MAX_SEGMENTS  # compacted along the way
    again = open_ledger(tmp_path)
    again.add([meeting("m0", ("p1@x.org", "p2@x.org"))], MEMBERS, NOW)  # already counted
    assert again.commit(NOW) == 0
    contacts = again.load_week(week_of(T))
    assert contacts.a.size == 1
    assert float(contacts.weight[0]) == pytest.approx(MAX_SEGMENTS * 2 + 3)


def test_a_crash_during_compaction_counts_nothing_twice(tmp_path: Path) -> None:
    """The base is written first; segments it took in but that were not yet deleted are ignored."""
    import shutil

    from agent.ledger import MAX_SEGMENTS

    ledger = open_ledger(tmp_path)
    for i in range(MAX_SEGMENTS - 1):
        ledger.add([meeting(f"m{i}", ("p1@x.org", "p2@x.org"))], MEMBERS, NOW)
        ledger.commit(NOW)
    kept = tmp_path / "kept"
    kept.mkdir()
    for path in (tmp_path / "ledger").glob("week-*-*.npz"):
        shutil.copy(path, kept / path.name)
    ledger.add([meeting("last", ("p1@x.org", "p2@x.org"))], MEMBERS, NOW)
    ledger.commit(NOW)  # this one compacts
    for path in kept.iterdir():  # as if the old segments had survived a crash
        shutil.copy(path, tmp_path / "ledger" / path.name)
    contacts = open_ledger(tmp_path).load_week(week_of(T))
    assert float(contacts.weight.sum()) == pytest.approx(MAX_SEGMENTS)


def test_each_pair_week_keeps_its_mail_weight_beside_its_weight(tmp_path: Path) -> None:
    """Schema 4: the part of a pair's week that came from mail, summed across segments and
    kept through compaction and forgetting."""
    ledger = open_ledger(tmp_path)
    for commit in range(MAX_SEGMENTS + 1):  # enough commits to compact the week once
        ledger.add([meeting(f"m{commit}", ("p1@x.org", "p2@x.org")),
                    mail(f"e{commit}", ("p1@x.org", "p2@x.org", "p3@x.org")),
                    mail(f"f{commit}", ("p3@x.org", "p4@x.org"))], MEMBERS, NOW)
        ledger.commit(NOW)
    commits = MAX_SEGMENTS + 1
    ids = {ledger.id_of(p): p for p in MEMBERS}

    def by_pair(contacts: WeekContacts) -> dict[tuple[str, ...], tuple[float, float]]:
        assert contacts.mail is not None
        return {tuple(sorted((ids[a], ids[b]))): (w, m) for a, b, w, m in zip(
            contacts.a.tolist(), contacts.b.tolist(), contacts.weight.tolist(),
            contacts.mail.tolist(), strict=True)}

    got = by_pair(ledger.load_week(week_of(T)))
    assert got[("p1@x.org", "p2@x.org")] == pytest.approx((commits * 1.05, commits * 0.05))
    assert got[("p1@x.org", "p3@x.org")] == pytest.approx((commits * 0.05, commits * 0.05))
    assert got[("p3@x.org", "p4@x.org")] == pytest.approx((commits * 0.1, commits * 0.1))
    table = read_table(ledger, week_of(T) - 1, week_of(T) + 1)
    assert table.mail is not None and float(table.mail.sum()) == pytest.approx(commits * 0.2)
    ledger.forget(ledger.pseudonymiser.person("p4@x.org"))
    assert ("p3@x.org", "p4@x.org") not in by_pair(ledger.load_week(week_of(T)))


def test_a_schema_3_ledger_is_read_and_its_old_weeks_mail_stays_unknown(tmp_path: Path) -> None:
    """Weeks written before the mail weight existed have none: unknown (None, NaN in a table),
    never zero, also once a new segment joins them; new weeks have it."""
    ledger = open_ledger(tmp_path)
    ledger.add([mail("e1", ("p1@x.org", "p2@x.org"))], MEMBERS, NOW)
    ledger.commit(NOW)
    directory = tmp_path / "ledger"
    as_schema_3(directory)

    ledger = open_ledger(tmp_path)
    assert json.loads((directory / "meta.json").read_text())["schema"] == SCHEMA == 5
    assert ledger.load_week(week_of(T)).mail is None
    later = T + dt.timedelta(weeks=1)
    ledger.add([mail("e2", ("p1@x.org", "p2@x.org")), mail("e3", ("p1@x.org", "p2@x.org"), later)],
               MEMBERS, NOW + dt.timedelta(weeks=1))
    ledger.commit(NOW + dt.timedelta(weeks=1))
    assert ledger.load_week(week_of(T)).mail is None  # an old week with a new segment
    assert float(ledger.load_week(week_of(later)).mail.sum()) == pytest.approx(0.1)  # type: ignore[union-attr]
    table = read_table(ledger, week_of(T), week_of(later))
    assert table.mail is not None
    old = table.week == 0
    assert np.isnan(table.mail[old]).all() and not np.isnan(table.mail[~old]).any()


def test_a_ledger_of_an_unknown_schema_is_refused(tmp_path: Path) -> None:
    open_ledger(tmp_path)
    meta = tmp_path / "ledger" / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "schema": 2}))
    with pytest.raises(ConfigError, match="schema 2, this version reads schemas 3 to 5"):
        open_ledger(tmp_path)


def conversation_sets(ledger: LedgerFiles, week: int) -> list[list[str]] | None:
    """A week's conversations as sorted lists of addresses (None: unknown)."""
    contacts = ledger.load_week(week)
    if contacts.alone is None or contacts.groups is None:
        assert contacts.alone is None and contacts.groups is None  # known together or not at all
        return None
    ids = {ledger.id_of(p): p for p in MEMBERS}
    two = [[ids[int(a)], ids[int(b)]] for a, b in zip(contacts.a[contacts.alone],
                                                      contacts.b[contacts.alone], strict=True)]
    groups = contacts.groups
    ends = np.cumsum(groups.size)
    return sorted([sorted(pair) for pair in two]
                  + [sorted(ids[m] for m in groups.member[e - s:e].tolist())
                     for s, e in zip(groups.size.tolist(), ends.tolist(), strict=True)])


def test_each_week_keeps_its_conversations_once_each(tmp_path: Path) -> None:
    """Schema 5: the distinct sets of people a week's counted mail and meetings brought
    together, each once across segments, compaction, a meeting that waited to happen and
    forgetting; what the counting rules discard is no conversation."""
    ledger = open_ledger(tmp_path)
    later = NOW + dt.timedelta(days=1)
    for commit in range(MAX_SEGMENTS + 1):  # enough commits to compact the week once
        ledger.add([mail(f"e{commit}", ("p1@x.org", "p2@x.org")),  # a thread between two
                    mail(f"r{commit}", ("p2@x.org", "p1@x.org")),
                    meeting(f"m{commit}", ("p3@x.org", "p1@x.org", "p2@x.org")),
                    mail(f"x{commit}", ("outsider@else.com", "p5@x.org", "p6@x.org"))],
                   MEMBERS, NOW)
        ledger.commit(NOW)
    ledger.add([mail("b", ("p1@x.org", *(f"p{i}@x.org" for i in range(2, 30)))),  # a broadcast
                meeting("soon", ("p4@x.org", "p5@x.org"), start=NOW + dt.timedelta(hours=3))],
               MEMBERS, NOW)
    ledger.commit(NOW)
    week = week_of(T)
    assert conversation_sets(ledger, week) == [["p1@x.org", "p2@x.org"],
                                               ["p1@x.org", "p2@x.org", "p3@x.org"]]
    ledger.commit(later)  # the waiting meeting has happened, in its own week
    assert conversation_sets(ledger, week_of(NOW)) == [["p4@x.org", "p5@x.org"]]
    table = read_table(ledger, week - 1, week_of(NOW))
    assert table.conversations is not None and table.conversations.known.all()
    assert table.conversations.week.tolist() == [1]  # the meeting of three
    assert int(table.conversations.alone.sum()) == 2  # the thread and the one-to-one
    ledger.forget(ledger.pseudonymiser.person("p3@x.org"))  # the meeting becomes the thread
    assert conversation_sets(ledger, week) == [["p1@x.org", "p2@x.org"]]
    ledger.add([meeting("m", ("p4@x.org", "p6@x.org", "p7@x.org")),  # two left: their own
                mail("g", ("p8@x.org", "p6@x.org", "p7@x.org"))], MEMBERS, NOW)  # no pair left
    ledger.commit(NOW)
    ledger.forget(ledger.pseudonymiser.person("p4@x.org"))
    ledger.forget(ledger.pseudonymiser.person("p8@x.org"))
    assert conversation_sets(ledger, week) == [["p1@x.org", "p2@x.org"], ["p6@x.org", "p7@x.org"]]


def test_a_schema_4_ledger_is_read_and_its_old_weeks_conversations_stay_unknown(
        tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    ledger.add([mail("e1", ("p1@x.org", "p2@x.org"))], MEMBERS, NOW)
    ledger.commit(NOW)
    directory = tmp_path / "ledger"
    as_schema(directory, 4)
    ledger = open_ledger(tmp_path)
    assert json.loads((directory / "meta.json").read_text())["schema"] == 5
    later = T + dt.timedelta(weeks=1)
    ledger.add([mail("e2", ("p1@x.org", "p3@x.org")), mail("e3", ("p1@x.org", "p2@x.org"), later)],
               MEMBERS, NOW + dt.timedelta(weeks=1))
    ledger.commit(NOW + dt.timedelta(weeks=1))
    assert conversation_sets(ledger, week_of(T)) is None  # an old week with a new segment
    assert conversation_sets(ledger, week_of(later)) == [["p1@x.org", "p2@x.org"]]
    assert ledger.load_week(week_of(T)).mail is not None  # what schema 4 had stays known
    table = read_table(ledger, week_of(T) - 1, week_of(later))
    assert table.conversations is not None
    assert table.conversations.known.tolist() == [True, False, True]  # an empty week is known
    assert table.conversations.alone.tolist() == [False, False, True]  # the unknown week: none


def test_finished_weeks_are_folded_into_one_file_and_read_the_same(tmp_path: Path) -> None:
    """What an analysis reads of a week is the same before and after compaction; the current
    week keeps its segments."""
    ledger = open_ledger(tmp_path)
    current = NOW + dt.timedelta(days=14)
    for commit in range(3):
        ledger.add([mail(f"e{commit}", ("p1@x.org", f"p{commit + 2}@x.org")),
                    meeting(f"m{commit}", ("p1@x.org", "p2@x.org", "p3@x.org")),
                    mail(f"n{commit}", ("p1@x.org", "p2@x.org"), current)], MEMBERS, current)
        ledger.commit(current)
    directory = tmp_path / "ledger"

    def files(week: int) -> int:
        return len(list(directory.glob(f"week-{week:05d}*.npz")))

    before = ledger.load_week(week_of(T), digests=True)
    assert files(week_of(T)) == 3 and files(week_of(current)) == 3
    assert ledger.compact_finished(week_of(current)) == 1
    assert files(week_of(T)) == 1 and files(week_of(current)) == 3
    after = open_ledger(tmp_path).load_week(week_of(T))
    for name in ("a", "b", "weight", "seen", "mail", "alone"):
        assert np.array_equal(getattr(before, name), getattr(after, name)), name
    assert conversation_sets(ledger, week_of(T)) == [["p1@x.org", "p2@x.org"],
                                                     ["p1@x.org", "p2@x.org", "p3@x.org"],
                                                     ["p1@x.org", "p3@x.org"],
                                                     ["p1@x.org", "p4@x.org"]]
    assert ledger.compact_finished(week_of(current)) == 0  # nothing left to fold


def test_a_damaged_conversations_array_is_named_by_the_ledger_and_by_doctor(
        tmp_path: Path) -> None:
    from agent.doctor import _ledger_problems
    from agent.store import StateDamaged

    ledger = open_ledger(tmp_path)
    ledger.add([meeting("m", ("p1@x.org", "p2@x.org", "p3@x.org"))], MEMBERS, NOW)
    ledger.commit(NOW)
    directory = tmp_path / "ledger"
    [path] = directory.glob("week-*.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["conversations"] = arrays["conversations"][:-1]  # a member lost: a group of two
    np.savez(path.with_suffix(""), **arrays)
    with pytest.raises(StateDamaged, match="its arrays do not fit together"):
        open_ledger(tmp_path).load_week(week_of(T))
    problems, _, _ = _ledger_problems(directory)
    assert problems == [(path, "its arrays do not fit together")]

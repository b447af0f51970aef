"""'Not now' end to end on the files connector: a mail to digest.pause_address in
messages.jsonl pauses new asks for its sender for pairing.pause_weeks, releases their
unanswered holds within one cycle, keeps the ones they accepted, then asks them again;
the person digest links to the pause address only when one is configured."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest

from agent.config import load_config
from agent.eligibility import active_pauses
from agent.engine import CycleReport, open_engine
from agent.store import StateDamaged, SuggestionRecord, TinyStore, lock_store
from connectors.common.errors import ConfigError
from connectors.demo import generate
from rules.model import Rules
from tests.core.conftest import World

PAUSE = "bridgework+pause@demo.example"
#: A Tuesday; the data runs three weeks past it, so every later cycle has whole weeks to judge.
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
RULES = """\
meetings:
  mode: invite
pairing:
  pause_weeks: 1
  cooldown_weeks: 0
  per_person_per_month: 8
  per_seam_per_week: 40
digests:
  admins: [admin@demo.example]
  day: tuesday
  time: "08:00"
  timezone: UTC
"""


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Cycle:
    report: CycleReport
    placed: list[tuple[str, tuple[str, ...]]]  # hold id, its people
    by_status: dict[str, list[tuple[str, ...]]]  # every suggestion's people, by status

    def asked(self) -> set[str]:
        return {e for _, people in self.placed for e in people}

    def with_status(self, status: str, person: str) -> bool:
        return any(person in people for people in self.by_status.get(status, []))


@dataclass
class Org:
    """A data directory, its configuration and a clock the cycles run on."""

    root: Path
    clock: Clock

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    def configure(self, pause: bool) -> None:
        self.config.write_text(
            f"source:\n  type: files\n  path: {self.root / 'data'}\n"
            f"store:\n  path: {self.root / 'store'}\nrules: {self.root / 'rules.yaml'}\n"
            + (f"digest:\n  pause_address: {PAUSE}\n" if pause else ""))

    def run(self, at: dt.datetime) -> Cycle:
        """One cycle at ``at``, with the people of each suggestion as e-mails."""
        self.clock.now = at
        config = load_config(self.config)
        with lock_store(config.store.path):
            engine = open_engine(config, self.clock)
            try:
                report = engine.run_once()
                by_pseudonym = engine.org().by_pseudonym

                def emails(record: SuggestionRecord) -> tuple[str, ...]:
                    return tuple(by_pseudonym[p] for p in record.people)

                by_status: dict[str, list[tuple[str, ...]]] = {}
                for record in engine.store.suggestions():
                    by_status.setdefault(str(record.status), []).append(emails(record))
                return Cycle(report, [(r.id, emails(r)) for r in report.place.placed], by_status)
            finally:
                engine.store.close()  # type: ignore[attr-defined]

    def mail(self, sender: str, to: str, at: dt.datetime) -> None:
        with (self.root / "data" / "messages.jsonl").open("a") as f:
            f.write(json.dumps({"id": f"<{sender}-{at.timestamp()}@demo.example>",
                                "date": at.isoformat(), "from": sender, "to": [to], "cc": []}) + "\n")

    def accept(self, hold_id: str) -> None:
        """Everyone invited says yes in holds.ics, as a calendar would write it."""
        path = self.root / "data" / "outbox" / "holds.ics"
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        for ev in cal.walk("VEVENT"):
            if str(ev["UID"]) == hold_id:
                attendees = ev["ATTENDEE"] if isinstance(ev["ATTENDEE"], list) else [ev["ATTENDEE"]]
                for att in attendees:
                    att.params["PARTSTAT"] = "ACCEPTED"
        path.write_bytes(cal.to_ical())

    def holds_on_file(self) -> set[str]:
        path = self.root / "data" / "outbox" / "holds.ics"
        return {str(ev["UID"]) for ev in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")}

    def digests(self) -> Iterator[EmailMessage]:
        for path in sorted((self.root / "data" / "outbox" / "digests").glob("person*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            yield message


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Org:
    monkeypatch.setenv("BRIDGEWORK_SECRET_KEY", "not-now-test-key-0123456789")
    generate(tmp_path / "data", people=40, weeks=16, seed=4, as_of=(T0 + dt.timedelta(weeks=3)).date())
    (tmp_path / "rules.yaml").write_text(RULES)
    made = Org(tmp_path, Clock())
    made.configure(pause=True)
    return made


def test_a_mail_to_the_pause_address_pauses_new_asks_then_they_come_again(org: Org) -> None:
    first = org.run(T0)
    assert len(first.placed) >= 2, "the demo's drifting seam gives holds to pause"
    (kept_id, kept_people), (released_id, released_people) = first.placed[:2]
    accepter, pauser = kept_people[0], released_people[0]  # one accepted, one left unanswered
    org.accept(kept_id)
    asked = T0 + dt.timedelta(minutes=20)
    org.mail(pauser, PAUSE, asked)
    org.mail(accepter, PAUSE, asked)
    org.mail(pauser, "someone.else@demo.example", asked)  # other mail pauses nobody

    honoured = org.run(T0 + dt.timedelta(hours=1))  # the very next cycle honours it
    assert sorted(honoured.report.sync.pauses) == sorted([pauser, accepter])
    assert honoured.report.excluded[pauser].startswith("paused until 2026-12-01")
    assert released_id not in org.holds_on_file()  # unanswered: released
    assert honoured.with_status("cancelled", pauser) and not honoured.with_status("held", pauser)
    assert kept_id in org.holds_on_file() and honoured.with_status("accepted", accepter)
    assert not honoured.asked() & {pauser, accepter}

    # Next week, still paused: the others are asked again, these two are not.
    during = org.run(T0 + dt.timedelta(days=6))
    assert during.asked(), "the seam still drifts: new holds for others"
    assert not during.asked() & {pauser, accepter}
    assert pauser in during.report.excluded and accepter in during.report.excluded

    # A week after they asked the pause is over: asked again, like everyone else.
    after = org.run(T0 + dt.timedelta(days=13))
    assert pauser not in after.report.excluded and accepter not in after.report.excluded
    assert pauser in after.asked()


def test_a_paused_persons_digest_says_until_when_and_offers_no_second_pause(org: Org) -> None:
    first = org.run(T0)
    person = first.placed[0][1][0]
    org.mail(person, PAUSE, T0 + dt.timedelta(minutes=5))
    org.run(T0 + dt.timedelta(days=7))  # next Tuesday: digests go out, the person is paused
    digest = next(m for m in org.digests() if m["To"] == person and "2026-W49" in m["Subject"])
    text, html = _parts(digest)
    assert "You asked for a pause: nothing new is suggested for you until 1 Dec" in text
    assert "until <b>1 Dec</b>" in html
    assert PAUSE not in text and f"mailto:{PAUSE}" not in html  # no second pause link


def test_the_person_digest_links_to_the_pause_address_only_when_one_is_set(org: Org) -> None:
    org.run(T0)
    with_link = list(org.digests())
    assert with_link
    for message in with_link:
        text, html = _parts(message)
        assert f"Not now: send an empty mail to {PAUSE}" in text
        assert f'href="mailto:{PAUSE}?subject=' in html and ">Not now</a>" in html
        for part in (text, html):
            assert "no new suggestions for 1 week;" in part  # pairing.pause_weeks, as set
            assert "conversations you accepted stay, unanswered holds are released" in part
    org.configure(pause=False)
    for path in (org.root / "data" / "outbox").rglob("*"):
        if path.is_file():
            path.unlink()
    (org.root / "store").rename(org.root / "store-before")
    org.run(T0)
    without = list(org.digests())
    assert without
    for message in without:
        text, html = _parts(message)
        assert "Not now" not in text and "Not now" not in html and PAUSE not in html


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())



def test_in_suggest_mode_a_paused_persons_digest_drops_what_was_only_suggested(
        make_world: Callable[..., World]) -> None:
    world = make_world(Rules())  # suggest mode: digests list suggestions, calendars untouched
    first = world.engine.run_once()
    record = first.place.suggested[0]
    org = world.engine.org()
    person = org.by_pseudonym[record.people[0]]
    other = org.people[org.by_pseudonym[record.people[1]]]

    def digest_of(email: str) -> str:
        return next((m.text for m in reversed(world.sender.sent) if m.to == email
                     and m.key.startswith("person/")), "")

    me = org.people[person]
    assert f"with {other.name} (" in digest_of(person) and f"with {me.name} (" in digest_of(other.email)
    world.store.add_pause(record.people[0], world.clock.now)
    world.store.remove_digests(set(world.store.digests()))
    sent_before = len(world.sender.sent)
    world.engine.digests(force=True)
    paused = digest_of(person)
    assert f"with {other.name} (" not in paused and "You asked for a pause" in paused
    # The other person is not paused, but the suggestion with someone who is goes for both.
    assert f"with {me.name} (" not in "".join(m.text for m in world.sender.sent[sent_before:]
                                  if m.to == other.email)


def test_a_later_ask_restarts_a_pause_and_an_earlier_one_changes_nothing(tmp_path: Path) -> None:
    store = TinyStore(tmp_path)
    store.add_pause("p1", T0)
    store.add_pause("p1", T0 - dt.timedelta(days=30))  # a resync reads an old ask again
    assert store.pauses() == {"p1": T0.isoformat()}
    store.add_pause("p1", T0 + dt.timedelta(days=2))
    store.close()
    again = TinyStore(tmp_path)  # kept, and validated on load
    assert again.pauses() == {"p1": (T0 + dt.timedelta(days=2)).isoformat()}
    assert active_pauses({"a": T0}, 1, T0 + dt.timedelta(days=6)) == {"a": T0 + dt.timedelta(weeks=1)}
    assert active_pauses({"a": T0}, 1, T0 + dt.timedelta(weeks=1)) == {}


def test_a_damaged_pause_is_named_not_skipped(tmp_path: Path) -> None:
    store = TinyStore(tmp_path)
    store.add_pause("p1", T0)
    store.close()
    state = json.loads((tmp_path / "state.json").read_text())
    state["pauses"]["1"]["asked"] = "last tuesday"
    (tmp_path / "state.json").write_text(json.dumps(state))
    with pytest.raises(StateDamaged, match=r"'pauses' document 1 is wrong \(asked"):
        TinyStore(tmp_path)


def test_the_pause_and_opt_out_addresses_must_differ(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("source: {type: files, path: data}\ndigest:\n"
                      "  opt_out_address: bridgework+stop@example.org\n"
                      "  pause_address: Bridgework+Stop@example.org\n")
    with pytest.raises(ConfigError, match="pause_address and opt_out_address must differ"):
        load_config(config)

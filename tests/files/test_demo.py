"""The demo organisation: deterministic, clean to read, and honest about what it planted."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from connectors.base import InteractionKind
from connectors.demo import DEMO_DOMAIN, Truth, generate
from connectors.files import open_directory

AS_OF = dt.date(2026, 3, 4)


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate(out, people=80, weeks=20, seed=3, as_of=AS_OF)


def test_same_seed_same_files(org: tuple[Path, Truth], tmp_path: Path) -> None:
    out, _ = org
    generate(tmp_path / "again", people=80, weeks=20, seed=3, as_of=AS_OF)
    assert _digest(tmp_path / "again") == _digest(out)
    generate(tmp_path / "other", people=80, weeks=20, seed=4, as_of=AS_OF)
    assert _digest(tmp_path / "other") != _digest(out)


def test_truth_file(org: tuple[Path, Truth]) -> None:
    out, truth = org
    data = json.loads((out / "truth.json").read_text())
    assert set(data) == {"as_of", "drifting_pairs", "stable_pairs", "lapsed_ties", "seed",
                         "people", "weeks"}
    assert Truth.load(out / "truth.json") == truth
    assert 2 <= len(truth.drifting_pairs) <= 3 and truth.stable_pairs and truth.lapsed_ties
    assert not {frozenset(p) for p in truth.drifting_pairs} & {frozenset(p)
                                                                for p in truth.stable_pairs}
    people = {p.email: p for p in open_directory(out).directory.people()}
    seams = {frozenset(p) for p in truth.drifting_pairs}
    for a, b in truth.lapsed_ties:  # lapsed ties sit inside drifting seams
        assert frozenset((people[a].department, people[b].department)) in seams


def test_reads_cleanly_and_looks_like_an_organisation(org: tuple[Path, Truth]) -> None:
    out, truth = org
    c = open_directory(out)
    people = list(c.directory.people())
    assert len(people) == truth.people == 80
    sizes = Counter(p.department for p in people)
    assert 7 <= len(sizes) <= 10
    assert sizes.most_common(1)[0][0] == "Engineering" and sizes["Legal"] < sizes["Sales"]
    assert len({p.timezone for p in people}) >= 3
    assert len({(p.working_hours.start, p.working_hours.weekdays) for p in people}) >= 3
    emails = {p.email for p in people}
    assert all(p.manager in emails for p in people if p.manager)
    assert sum(p.manager is None for p in people) == 1
    assert all(p.email.endswith("@" + DEMO_DOMAIN) for p in people)
    assert c.calendar is not None and c.mail is not None
    meetings = [i for ch in c.calendar.read(people, {}) for i in ch.interactions]
    messages = [i for ch in c.mail.read(people, {}) for i in ch.interactions]
    assert c.calendar.problems == [] and c.mail.problems == []  # type: ignore[attr-defined]
    assert any(i.id.startswith("review-") for i in meetings)  # calendar/team.ics
    assert any(i.id.startswith("<mbox-") for i in messages)  # mail/sample.mbox
    assert any(i.cancelled for i in meetings)
    assert any(i.size > len(i.participants) for i in meetings)  # someone declined
    assert any(i.size > 25 for i in meetings) and any(i.size > 25 for i in messages)
    assert any(not p.endswith(DEMO_DOMAIN) for i in messages for p in i.participants)
    as_of = dt.datetime.combine(AS_OF, dt.time(), tzinfo=dt.UTC)
    assert max(i.start for i in messages) < as_of
    # single meetings already planned for the next two weeks (series run on to the horizon)
    upcoming = [i for i in meetings if i.start >= as_of and "@" not in i.id]
    assert upcoming and max(i.start for i in upcoming) < as_of + dt.timedelta(weeks=2, days=1)
    assert min(i.start for i in messages) >= as_of - dt.timedelta(weeks=21)
    assert all(i.kind is InteractionKind.MEETING for i in meetings)


def test_without_drift_nothing_is_planted(tmp_path: Path) -> None:
    plain = generate(tmp_path / "plain", people=40, weeks=14, seed=3, as_of=AS_OF, drift=False)
    drifting = generate(tmp_path / "drift", people=40, weeks=14, seed=3, as_of=AS_OF)
    assert plain.drifting_pairs == [] and plain.lapsed_ties == []
    assert drifting.drifting_pairs and plain.stable_pairs == drifting.stable_pairs
    people = (tmp_path / "plain" / "people.csv").read_text()
    assert people == (tmp_path / "drift" / "people.csv").read_text()  # the same organisation


def test_weekly_seam_volume_is_overdispersed(org: tuple[Path, Truth]) -> None:
    """Weekly mail between two departments varies far more than a Poisson count would."""
    out, truth = org
    c = open_directory(out)
    dept = {p.email: p.department for p in c.directory.people()}
    a, b = truth.stable_pairs[0]
    weekly: Counter[int] = Counter()
    assert c.mail is not None
    for ch in c.mail.read([], {}):
        for m in ch.interactions:
            if m.size <= 25 and {dept.get(p) for p in m.participants[:2]} == {a, b}:
                weekly[m.start.isocalendar().week] += 1
    counts = list(weekly.values())
    mean = sum(counts) / len(counts)
    variance = sum((x - mean) ** 2 for x in counts) / (len(counts) - 1)
    assert variance > 1.5 * mean

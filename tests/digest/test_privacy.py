"""What a digest never shows: figures about fewer than min_group_size people, someone
else's lapsed ties, message subjects."""

from __future__ import annotations

import json
import re
from pathlib import Path

from agent.preview import preview
from rules.model import Rules
from tests.core.conftest import World
from tests.core.synth import make_org
from tests.digest.conftest import NOW, Demo, FixedClock
from tests.digest.parts import visible_text


def _rules(k: int = 5) -> Rules:
    return Rules.model_validate({"meetings": {"mode": "invite"}, "privacy": {"min_group_size": k},
                                 "digests": {"admins": ["admin@example.org"]}})


def test_a_manager_of_four_sees_no_team_figures(tmp_path: Path) -> None:
    # Five a department: each department head manages four.
    world = World(tmp_path, make_org(per_dept=5), _rules(5))
    world.engine.run_once()
    managers = [m for m in world.sender.sent if m.key.startswith("manager/")]
    assert managers
    for message in managers:
        body = message.text.split("Hi ", 1)[1].split(",", 1)[1]  # after the greeting
        assert "Your team has 4 people" in body and "groups of 5 or more" in body
        assert not re.search(r"\d h\b", body) and "%" not in body and "placed" not in body.lower()
        html_body = visible_text(message.html or "").split("Hi ", 1)[1].split(",", 1)[1]
        digits = {c for c in html_body if c.isdigit()}
        assert digits <= {"4", "5"}  # the team size and the threshold, nothing else


def test_admin_cells_under_min_group_size_are_withheld(tmp_path: Path) -> None:
    synth = make_org(per_dept=8)
    synth.people = [p for p in synth.people
                    if p.department != "Finance" or p.email in {f"finance{i}@example.org" for i in range(3)}]
    world = World(tmp_path, synth, _rules(5))
    world.engine.run_once()
    admin = next(m for m in world.sender.sent if m.key.startswith("admin/"))
    seams = admin.text.split("BY SEAM", 1)[1].split("Key of the heatmap", 1)[0]
    assert "Finance" in seams and "withheld (Finance)" in seams
    assert not any("Finance /" in line or "/ Finance" in line for line in seams.splitlines())
    html = admin.html or ""
    row = html.split(">Finance</td>", 1)[1].split("</tr>", 1)[0]
    assert row.count("&lt;5") == 3 and "%" not in row  # every other cell withheld


def test_no_digest_shows_another_persons_lapsed_ties(tmp_path: Path) -> None:
    world = World(tmp_path, make_org(per_dept=8), _rules(5))
    report = world.engine.run_once()
    org = world.engine.org()
    lapsed = {frozenset((a, b)) for a, b, _ in report.analysis.lapsed}
    assert lapsed
    in_ties = 0
    for message in world.sender.sent:
        if "TIES WORTH RENEWING" not in message.text:
            assert not message.key.startswith("person/") or "(" in message.text
            continue
        assert message.key.startswith("person/")  # nobody else gets a list of ties
        section = message.text.split("TIES WORTH RENEWING", 1)[1].split("\n\n", 1)[0]
        for person in org.people.values():
            if person.name and f"- {person.name} (" in section:
                assert frozenset((message.to, person.email)) in lapsed
                in_ties += 1
    assert in_ties


def test_no_digest_shows_a_subject(demo: Demo, tmp_path: Path) -> None:
    data = tmp_path / "org"
    data.mkdir()
    for name in ("people.csv", "events.jsonl"):
        (data / name).write_bytes((demo.data / name).read_bytes())
    canary = "Project NIGHTJAR merger"
    with (demo.data / "messages.jsonl").open() as source, (data / "messages.jsonl").open("w") as out:
        for line in source:
            record = json.loads(line)
            record["subject"] = canary
            out.write(json.dumps(record) + "\n")
    for audience in ("person", "manager", "admin"):
        message = preview(data, _rules(5), audience, clock=FixedClock(NOW)).message
        assert canary not in message.text and canary not in (message.html or "")
        assert "NIGHTJAR" not in message.subject

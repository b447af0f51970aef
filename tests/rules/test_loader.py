"""Loading rules: presets, extends, department checks, every problem at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectors.base import HoldMode
from connectors.common.errors import RulesError
from rules.loader import default_rules, load_preset, load_rules, load_rules_text, preset_names
from rules.model import Rules


def test_shipped_presets() -> None:
    assert {"default", "leadership-peers", "gentle"} <= set(preset_names())
    for name in preset_names():
        rules = load_preset(name)
        assert rules.extends == name
        assert load_rules_text(f"extends: {name}\n", "r.yaml").extends == name


def test_default_preset_is_the_model_default() -> None:
    assert default_rules() == Rules()
    assert load_rules_text("", "empty.yaml") == Rules()
    assert load_rules_text("# only a comment\n", "c.yaml") == Rules()


def test_leadership_peers_means_managers_in_same_level_circles() -> None:
    rules = load_preset("leadership-peers")
    assert rules.participants.managers_only
    assert rules.pairing.circles.enabled and rules.pairing.circles.same_level
    assert rules.pairing.max_level_distance == 0
    assert rules.meetings.mode is HoldMode.HOLD


def test_gentle_only_suggests() -> None:
    rules = load_preset("gentle")
    assert rules.meetings.mode is HoldMode.SUGGEST
    assert rules.pairing.per_person_per_month == 1


def test_extends_merges_deeply_and_lists_replace() -> None:
    text = """\
extends: leadership-peers
pairing:
  circles:
    size: 4
meetings:
  prompts: [What are you proud of?]
"""
    rules = load_rules_text(text, "r.yaml")
    preset = load_preset("leadership-peers")
    assert rules.pairing.circles.size == 4
    assert rules.pairing.circles.enabled  # kept from the preset
    assert rules.pairing.cooldown_weeks == preset.pairing.cooldown_weeks
    assert rules.meetings.prompts == ["What are you proud of?"]
    assert rules.meetings.duration == dt.timedelta(minutes=45)
    assert rules.participants.managers_only


def test_error_in_the_file_is_located_even_over_a_preset() -> None:
    text = "extends: gentle\npairing:\n  per_person_per_week: 2\n"
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    # gentle allows one a month; two a week contradicts it, and the user's key is blamed
    assert caught.value.problems == [
        "r.yaml:3:3: pairing: per_person_per_month (1) is smaller than per_person_per_week (2)"
    ]


def test_every_problem_at_once() -> None:
    text = "seams:\n  drop: 2\npairing:\n  cooldown_weeks: -1\nmeetings:\n  mode: loud\n"
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    locations = [p.split(": ", 1)[0] for p in caught.value.problems]
    assert locations == ["r.yaml:2:9", "r.yaml:4:19", "r.yaml:6:9"]
    assert "3 problems" in caught.value.message


def test_departments_checked_only_when_known() -> None:
    text = "participants:\n  exclude_departments: [Legl]\n"
    assert load_rules_text(text, "r.yaml").participants.exclude_departments == ["Legl"]
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml", departments=["Legal", "Sales"])
    assert caught.value.problems == [
        "r.yaml:2:25: participants.exclude_departments[0]: unknown department 'Legl' "
        "(did you mean 'Legal'?)"
    ]


def test_departments_in_the_preset_are_not_blamed_on_the_file() -> None:
    rules = load_rules_text("extends: gentle\n", "r.yaml", departments=["Legal"])
    assert rules.extends == "gentle"


def test_human_forms() -> None:
    text = """\
seams:
  ignore_pairs: ["Legal / Trading", [Sales, Research]]
participants:
  include_people: [Ann@Example.COM]
meetings:
  duration: 1h15m
  days: [Mon, wednesday, fri]
  hours: " 9:30 - 17:00 "
  buffer: 5
"""
    rules = load_rules_text(text, "r.yaml")
    assert rules.seams.ignore_pairs == [("Legal", "Trading"), ("Sales", "Research")]
    assert rules.seams.ignores("Trading", "Legal")
    assert rules.participants.include_people == ["ann@example.com"]
    assert rules.meetings.duration == dt.timedelta(hours=1, minutes=15)
    assert rules.meetings.days == [0, 2, 4]
    assert (rules.meetings.hours.start, rules.meetings.hours.end) == (dt.time(9, 30), dt.time(17))
    assert rules.meetings.buffer == dt.timedelta(minutes=5)


def test_round_trip_through_yaml(tmp_path: Path) -> None:
    """What the model writes back out, it reads in again unchanged."""
    import yaml

    for name in preset_names():
        rules = load_preset(name)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(rules.model_dump(mode="json", exclude={"extends"})))
        assert load_rules(path).model_dump(exclude={"extends"}) == rules.model_dump(
            exclude={"extends"}
        )


def test_load_rules_with_departments(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("seams:\n  pairs:\n    - departments: [Legal, Trading]\n")
    rules = load_rules(path, departments={"Legal", "Trading"})
    assert rules.seams.rule_for("Trading", "Legal") is not None

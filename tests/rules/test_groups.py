"""``departments.groups``: the directory's departments merged into the ones the rules watch."""

from __future__ import annotations

import pytest

from agent.grouping import grouped_people, with_groups
from agent.pipeline import load_org
from agent.pseudonym import Pseudonymiser
from connectors.base import Person
from connectors.common.errors import RulesError
from rules.loader import load_rules_text
from rules.model import Rules

DIRECTORY = ["Backend", "Frontend", "Legal", "Sales", "Marketing"]
GROUPS = """\
departments:
  groups:
    Engineering: [Backend, Frontend]
    Go-to-market: [Sales, Marketing]
"""


def _problems(text: str, departments: list[str] | None = DIRECTORY) -> list[str]:
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml", departments=departments)
    return caught.value.problems


def test_grouped_departments_go_by_their_group() -> None:
    rules = load_rules_text(GROUPS + "seams:\n  ignore_pairs: [Engineering / Legal]\n",
                            "r.yaml", departments=DIRECTORY)
    groups = rules.departments
    assert [groups.group_of(d) for d in DIRECTORY] == [
        "Engineering", "Engineering", "Legal", "Go-to-market", "Go-to-market"]
    assert rules.seams.ignores("Legal", "Engineering")
    assert Rules().departments.group_of("Backend") == "Backend"  # no groups: nothing changes


def test_people_take_their_groups_name_and_keep_everything_else() -> None:
    rules = load_rules_text(GROUPS)
    people = [Person("a@x.org", "Backend", "Ann", level=2), Person("b@x.org", "Legal", "Bo")]
    grouped = grouped_people(people, rules.departments)
    assert [(p.email, p.department, p.name, p.level) for p in grouped] == [
        ("a@x.org", "Engineering", "Ann", 2), ("b@x.org", "Legal", "Bo", None)]
    org = load_org(people, Pseudonymiser(b"k" * 32))
    assert with_groups(org, rules.departments).departments == ["Engineering", "Legal"]
    assert with_groups(org, Rules().departments) is org


def test_the_rules_name_groups_not_the_departments_inside_them() -> None:
    problems = _problems(GROUPS + "seams:\n  ignore_departments: [Backend, Enginering]\n"
                         "participants:\n  exclude_departments: [Sales]\n")
    assert problems == [
        "r.yaml:6:24: seams.ignore_departments[0]: department 'Backend' is part of the group "
        "'Engineering' (departments.groups); name the group",
        "r.yaml:6:33: seams.ignore_departments[1]: unknown department 'Enginering' "
        "(did you mean 'Engineering'?)",
        "r.yaml:8:25: participants.exclude_departments[0]: department 'Sales' is part of the "
        "group 'Go-to-market' (departments.groups); name the group",
    ]


def test_group_members_are_the_directorys_departments() -> None:
    problems = _problems("departments:\n  groups:\n    Engineering: [Backend, Frontent]\n"
                         "    Sales: [Marketing]\n")
    assert problems == [
        "r.yaml:3:28: departments.groups.Engineering[1]: unknown department 'Frontent' "
        "(did you mean 'Frontend'?)",
        # Sales stays a department of its own, so the name would mean two things
        "r.yaml:4:5: departments.groups.Sales: 'Sales' is also a department of the directory "
        "that no group takes in; list it in this group, or name the group otherwise",
    ]
    # a group may keep the name of one of its own departments
    kept = load_rules_text("departments:\n  groups:\n    Sales: [Sales, Marketing]\n",
                           departments=DIRECTORY)
    assert kept.departments.group_of("Marketing") == "Sales"


def test_each_department_belongs_to_one_group_without_a_directory() -> None:
    problems = _problems("departments:\n  groups:\n    A: [Legal, Sales]\n    B: [Sales]\n"
                         "    Legal: [Backend]\n    C: []\n    D: [Legal, Frontend, Frontend]\n",
                         departments=None)
    assert problems == [
        "r.yaml:4:9: departments.groups.B[0]: department 'Sales' is listed in 'A' too; a "
        "department belongs to one group",
        "r.yaml:5:5: departments.groups.Legal: 'Legal' is a group and also a department of "
        "the group 'A'",
        "r.yaml:6:8: departments.groups.C: the group lists no department",
        "r.yaml:7:9: departments.groups.D[0]: department 'Legal' is listed in 'A' too; a "
        "department belongs to one group",
        "r.yaml:7:26: departments.groups.D[2]: department 'Frontend' is listed twice; a "
        "department belongs to one group",
    ]


def test_the_model_refuses_a_clash_on_its_own() -> None:
    """The daemon's copy of its last good rules is read without the loader."""
    with pytest.raises(ValueError, match="'Sales' is listed in 'A' too"):
        Rules.model_validate({"departments": {"groups": {"A": ["Sales"], "B": ["Sales"]}}})

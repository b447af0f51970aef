"""Departments as the rules group them (``departments.groups``).

A directory may split an organisation finer than its seams are worth
watching: twenty teams of a dozen people give each seam too few people for
its weekly counts to tell a drift from chance (docs/detection.md). The rules
can merge departments into groups; from here on a grouped person's department
*is* the group's name, so the ledger's analysis, pairing, digests and the
rules' own department names all see the groups. The ledger keeps people, not
departments, so a new grouping applies to every week already counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from agent.pipeline.org import Org
from connectors.base import Person
from rules.model import Departments


def grouped_people(people: Iterable[Person], departments: Departments) -> list[Person]:
    """Everyone with the department the rules give them."""
    out = []
    for person in people:
        name = departments.group_of(person.department)
        out.append(person if name == person.department else replace(person, department=name))
    return out


def with_groups(org: Org, departments: Departments) -> Org:
    """The organisation with each grouped department renamed to its group."""
    if not departments.groups:
        return org
    people = grouped_people(org.people.values(), departments)
    return Org({p.email: p for p in people}, org.pseudonym, org.by_pseudonym)

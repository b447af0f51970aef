"""Fields of a directory entry read the same way by every directory connector.

Google's ``organizations[].department``, Graph's ``department`` and a
``people.csv`` column all end up as ``Person.department``, and the seams are
counted per department name: "Sales" and "Sales " must be one department,
and a person whose entry names none must land somewhere named rather than
vanish (they still meet people; their contact still counts for the others).
"""

from __future__ import annotations

#: The department of people whose directory entry names none.
NO_DEPARTMENT = "(no department)"


def department_name(value: object) -> str:
    """A department as a directory wrote it, without surrounding blanks; '' when there is none."""
    return "" if value is None else str(value).strip()


def department_or_placeholder(value: object) -> str:
    """The department, or :data:`NO_DEPARTMENT` when the entry names none."""
    return department_name(value) or NO_DEPARTMENT


def address(value: object) -> str | None:
    """An e-mail address as Bridgework keys people: trimmed and lower-case; None when empty."""
    text = "" if value is None else str(value).strip().lower()
    return text or None

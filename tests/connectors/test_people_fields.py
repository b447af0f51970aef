"""Department and address fields, read one way for every directory."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from connectors.people_fields import (
    NO_DEPARTMENT,
    address,
    department_name,
    department_or_placeholder,
)


def test_a_department_loses_surrounding_blanks_only() -> None:
    assert department_name("  Sales ") == "Sales"
    assert department_name("Sales  EMEA") == "Sales  EMEA"
    assert department_name(None) == department_name(" \t ") == ""


def test_an_entry_without_a_department_is_placed_under_the_placeholder() -> None:
    for value in (None, "", "   "):
        assert department_or_placeholder(value) == NO_DEPARTMENT
    assert department_or_placeholder(" Legal") == "Legal"


@given(st.text(max_size=30))
def test_the_same_department_however_it_was_padded(name: str) -> None:
    read = department_or_placeholder(name)
    assert read == department_or_placeholder(f"  {name}\t") and read.strip() == read and read


def test_addresses_are_keyed_lower_case() -> None:
    assert address(" Ann@Example.ORG ") == "ann@example.org"
    assert address("") is None and address(None) is None and address("  ") is None


def test_a_data_directory_reads_departments_and_addresses_as_the_other_directories(
        tmp_path: Path) -> None:
    from connectors.files.people import FilesDirectory

    cells = [(" Ann@Example.ORG ", "Sales\t", " Boss@Example.org"), ("boss@example.org", "Sales", "")]
    (tmp_path / "people.csv").write_text(
        "email,department,manager\n" + "".join(f'"{e}","{d}","{m}"\n' for e, d, m in cells))
    people = list(FilesDirectory(tmp_path / "people.csv").people())
    assert [(p.email, p.department, p.manager) for p in people] == [
        (address(e), department_name(d), address(m)) for e, d, m in cells]
    assert len({p.department for p in people}) == 1  # one department, however padded

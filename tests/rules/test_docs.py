"""docs/rules.md is generated from the models and must match them; the schema is usable."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from agent.cli import main
from rules.docs import DOC_PATH, EXAMPLES, json_schema, render
from rules.loader import load_rules_text
from rules.model import Rules


def test_reference_is_up_to_date() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/rules.md is stale: run `python -m rules.docs` and commit the result"
    )


def test_every_field_is_documented() -> None:
    text = render()
    for section_name, field in Rules.model_fields.items():
        section = field.annotation
        if section_name == "extends":
            continue
        for name, sub in section.model_fields.items():  # type: ignore[union-attr]
            assert f"| `{name}` |" in text, f"{section_name}.{name} missing"
            assert sub.description or sub.annotation.__doc__, f"{section_name}.{name} undescribed"


@pytest.mark.parametrize("section", sorted(EXAMPLES))
def test_examples_are_valid_rules(section: str) -> None:
    load_rules_text(EXAMPLES[section], f"example-{section}.yaml")


def test_schema_command_prints_json_schema_with_human_defaults() -> None:
    result = CliRunner().invoke(main, ["rules", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema == json_schema()
    meetings = schema["$defs"]["Meetings"]["properties"]
    assert meetings["duration"]["default"] == "30m"
    assert meetings["hours"]["default"] == "10:00-16:00"
    assert meetings["days"]["default"] == ["monday", "tuesday", "wednesday", "thursday", "friday"]
    assert schema["$defs"]["Seams"]["additionalProperties"] is False


def test_schema_accepts_the_examples() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    for text in EXAMPLES.values():
        jsonschema.validate(yaml.safe_load(text), json_schema())


def test_schema_accepts_the_presets() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    from rules.loader import _preset_text, preset_names

    for name in preset_names():
        jsonschema.validate(yaml.safe_load(_preset_text(name)), json_schema())

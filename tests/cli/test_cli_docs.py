"""docs/cli.md is generated from the click commands: it must match them, and every command
and option must say what it does."""

from __future__ import annotations

from agent.cli import main
from agent.cli_docs import DOC_PATH, commands, missing_help, render


def test_every_command_and_option_has_help_text() -> None:
    assert missing_help(main) == []


def test_the_reference_is_not_stale() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/cli.md is stale: run `python -m agent.cli_docs` and commit the result")


def test_the_reference_lists_every_command() -> None:
    text = render()
    for path, _ in commands(main):
        if path:
            assert f"## `bridgework {' '.join(path)}`" in text
    assert "| 2 | a problem you can fix" in text and "BRIDGEWORK_CONFIG" in text

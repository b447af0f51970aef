"""A running engine picks up a changed rules file; a broken one leaves the last good in force."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rules.model import Rules
from tests.core.conftest import World


def write(path: Path, text: str, tick: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(tick * 10**9, tick * 10**9))  # a distinct stamp even within one second


def test_reload_and_keep_last_good(make_world: Callable[..., World], tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    write(rules_file, "meetings:\n  mode: invite\ndigests:\n  admins: [admin@example.org]\n", 1)
    world = make_world(Rules())
    world.rules_path = rules_file
    world.restart()
    first = world.engine.run_once()
    assert first.place.placed and first.rules_errors == []

    broken = "meetings:\n  mode: invite\n  duration: forever\ndigests:\n  admins: [admin@example.org]\n"
    write(rules_file, broken, 2)
    world.clock.now = world.clock.now.replace(day=world.clock.now.day + 7)
    second = world.engine.run_once()
    assert second.rules_errors and "rules.yaml:3:" in second.rules_errors[0]
    assert world.engine.rules_source.current().meetings.mode.value == "invite"  # last good kept
    admin = [m for m in world.sender.sent if m.key.startswith("admin/")][-1]
    assert "rules file has errors" in admin.text and "duration" in admin.text

    world.restart()  # a restarted daemon finds the broken file: the stored last good rules serve
    assert world.engine.rules_source.current().meetings.mode.value == "invite"

    write(rules_file, "meetings:\n  mode: suggest\n", 3)
    assert world.engine.rules_source.current().meetings.mode.value == "suggest"
    assert world.engine.rules_source.errors == []

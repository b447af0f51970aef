"""The demo organisation's digests, made once for the digest tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.preview import Preview, preview
from connectors.demo import generate
from rules.model import Rules

#: The demo's rules for these tests: holds as invitations, so the funnel has something in it.
DEMO_RULES = Rules.model_validate({"meetings": {"mode": "invite"}})


@dataclass
class Demo:
    data: Path
    digests: dict[str, Preview]


class FixedClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


#: A Tuesday, so that a week of holds lies ahead; the same every run.
NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    data = tmp_path_factory.mktemp("demo") / "org"
    generate(data, people=200, weeks=40, seed=1, as_of=NOW.date())
    clock = FixedClock(NOW)
    digests = {audience: preview(data, DEMO_RULES, audience, clock=clock)
               for audience in ("person", "manager", "admin")}
    return Demo(data, digests)

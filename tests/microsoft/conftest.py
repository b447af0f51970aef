"""Fixtures: a started fake Graph server and connectors built against it."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Connectors
from connectors.common.clock import fixed_clock
from connectors.microsoft import build
from connectors.microsoft.settings import MicrosoftSettings
from tests.fakes.graph import FakeGraph

# Fast retries: backoff steps of milliseconds; Retry-After is recorded and shortened.
FAST = {"backoff_seconds": 0.01, "max_backoff_seconds": 0.05, "timeout_seconds": 2.0,
        "connect_timeout_seconds": 2.0}


class Sleeps(list[float]):
    """Records every wait the client asked for, and waits only a moment."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(min(seconds, 0.01))


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGraph]:
    with FakeGraph(tmp_path) as server:
        yield server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


Build = Callable[..., Connectors]


@pytest.fixture
def connect(fake: FakeGraph, sleeps: Sleeps) -> Build:
    """Build connectors against the fake; keyword arguments override settings."""

    def make(now: dt.datetime | None = None, **overrides: Any) -> Connectors:
        settings = MicrosoftSettings.model_validate(fake.settings_dict(**{**FAST, **overrides}))
        clock = fixed_clock(now or dt.datetime(2026, 3, 9, 12, tzinfo=dt.UTC))
        return build(settings, clock=clock, sleep=sleeps)

    return make

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.google.server import FakeGoogle, FakeServer
from tests.fakes.google.world import GoogleWorld

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(FakeGoogle()) as running:
        yield running


@pytest.fixture
def gworld(server: FakeServer, tmp_path: Path) -> GoogleWorld:
    return GoogleWorld(server, tmp_path, NOW)

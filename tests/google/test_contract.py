"""The Google connector against the shared contract, through the local fake server."""

from __future__ import annotations

import pytest

from tests.contract.suite import ConnectorContract
from tests.fakes.google.world import GoogleWorld


class TestGoogleBackend(ConnectorContract):
    @pytest.fixture
    def world(self, gworld: GoogleWorld) -> GoogleWorld:
        return gworld

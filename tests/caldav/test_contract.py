"""The CalDAV and IMAP connectors pass the shared contract against real Radicale and Dovecot."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.contract.suite import ConnectorContract
from tests.servers.dovecot import Dovecot
from tests.servers.radicale import Radicale
from tests.servers.smtp import SmtpServer
from tests.servers.world import StandardsWorld

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


class TestStandardsBackend(ConnectorContract):
    @pytest.fixture
    def world(self, radicale: Radicale, dovecot: Dovecot, smtp: SmtpServer,
              tmp_path: Path) -> StandardsWorld:
        return StandardsWorld(radicale, dovecot, smtp, tmp_path, NOW)


class TestStandardsWithoutSyncTokens(ConnectorContract):
    """The ctag/etag path, for servers whose sync-token cannot be trusted."""

    @pytest.fixture
    def world(self, radicale: Radicale, dovecot: Dovecot, smtp: SmtpServer,
              tmp_path: Path) -> StandardsWorld:
        return StandardsWorld(radicale, dovecot, smtp, tmp_path, NOW, incremental="etag")

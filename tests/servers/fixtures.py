"""pytest fixtures for the real servers; a test package's conftest imports the ones it needs.

The servers live for the test session; ``*_clean`` fixtures empty them before each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.dovecot import Dovecot
from tests.servers.radicale import Radicale
from tests.servers.smtp import SmtpServer

#: Everyone the tests sign in as, with their passwords (the servers know them all).
PASSWORDS = {
    "ada@example.org": "ada-pw", "grace@example.org": "grace-pw",
    "linus@example.org": "linus-pw", "rosalind@example.org": "rosalind-pw",
    **{f"p{i:03d}@example.org": f"pw-{i:03d}" for i in range(16)},
}


@pytest.fixture(scope="session")
def radicale_server() -> Iterator[Radicale]:
    server = Radicale(PASSWORDS)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def radicale(radicale_server: Radicale) -> Radicale:
    radicale_server.wipe()
    return radicale_server


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    server = Dovecot(PASSWORDS)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    dovecot_server.wipe()
    return dovecot_server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    try:
        yield server
    finally:
        server.stop()

from __future__ import annotations

from tests.servers.fixtures import (  # noqa: F401  (fixtures used by the tests here)
    dovecot,
    dovecot_server,
    radicale,
    radicale_server,
    smtp,
)

"""The memory world of tests/core: an Engine over memory connectors and a real ledger."""

from tests.core.conftest import make_world  # noqa: F401  (a fixture)

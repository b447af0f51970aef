"""A local HTTPS fake of Entra ID sign-in and Microsoft Graph (see server.py)."""

from tests.fakes.graph.server import ALL_ROLES, FakeGraph, Fault
from tests.fakes.graph.tenant import Tenant

__all__ = ["ALL_ROLES", "FakeGraph", "Fault", "Tenant"]

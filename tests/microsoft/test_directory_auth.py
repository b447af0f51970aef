"""People from /users, and app sign-in with a secret, a certificate and a token cache."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pydantic
import pytest
import trustme

from connectors.base import DEFAULT_WORKING_HOURS
from connectors.common.errors import ConfigError, ConnectorError
from connectors.microsoft import build
from connectors.microsoft.settings import MicrosoftSettings
from connectors.people_fields import NO_DEPARTMENT
from tests.fakes.graph import FakeGraph
from tests.microsoft.conftest import Build


def _org(fake: FakeGraph) -> None:
    t = fake.tenant
    t.add_user("boss@example.org", "Big Boss", "Executive", "CEO", timezone="W. Europe Standard Time",
               working_days=("monday", "tuesday", "wednesday", "thursday"),
               working_start="08:00:00.0000000", working_end="16:30:00.0000000",
               extra={"employeeType": "L7"})
    for i in range(6):
        t.add_user(f"u{i}@example.org", f"User {i}", "Sales" if i % 2 else None, "Rep",
                   manager="boss@example.org", timezone="Pacific/Auckland")
    t.add_user("gone@example.org", "Left Us", "Sales", enabled=False)
    t.add_user("room@example.org", "No Mailbox", "Facilities", has_mailbox=False)


def test_people_with_paging_managers_and_disabled_skipped(fake: FakeGraph, connect: Build) -> None:
    _org(fake)
    fake.users_page_cap = 3
    people = {p.email: p for p in connect(level_attribute="employeeType").directory.people()}
    assert "gone@example.org" not in people
    assert len(people) == 8  # nine accounts, one disabled
    boss = people["boss@example.org"]
    assert (boss.name, boss.department, boss.title, boss.level) == ("Big Boss", "Executive", "CEO", 7)
    assert boss.timezone == "Europe/Berlin"
    assert boss.working_hours.weekdays == frozenset({0, 1, 2, 3})
    assert (boss.working_hours.start, boss.working_hours.end) == (dt.time(8), dt.time(16, 30))
    assert people["u1@example.org"].manager == "boss@example.org"
    assert people["u0@example.org"].department == "(no department)"
    assert people["u0@example.org"].timezone == "Pacific/Auckland"
    assert people["room@example.org"].working_hours == DEFAULT_WORKING_HOURS  # 404: defaults
    assert fake.requests["GET /users"] == 3


def test_without_mailbox_settings_permission_defaults_are_used(fake: FakeGraph, connect: Build) -> None:
    _org(fake)
    fake.roles -= {"MailboxSettings.Read"}
    people = list(connect().directory.people())
    assert len(people) == 8 and all(p.timezone == "UTC" for p in people)


def test_token_cache_file_is_private_and_reused(fake: FakeGraph, tmp_path: Path) -> None:
    _org(fake)
    cache = tmp_path / "state" / "msal-cache.json"
    settings = MicrosoftSettings.model_validate(fake.settings_dict(token_file=str(cache),
                                                                   working_hours=False))
    assert len(list(build(settings).directory.people())) == 8
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert "s3cret-value" not in cache.read_text()
    list(build(settings).directory.people())  # a new process: the cached token is reused
    assert fake.token_requests == 1


def test_certificate_credential(fake: FakeGraph, tmp_path: Path) -> None:
    _org(fake)
    pem = tmp_path / "app.pem"
    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert("bridgework-app",
                                                              key_type=trustme.KeyType.RSA)
    pem.write_bytes(leaf.private_key_pem.bytes() + leaf.cert_chain_pems[0].bytes())
    raw = fake.settings_dict(working_hours=False)
    del raw["client_secret_file"]
    settings = MicrosoftSettings.model_validate(
        {**raw, "certificate_file": str(pem), "certificate_thumbprint": "AB:CD:EF:01:23:45:67:89:AB:CD"})
    assert len(list(build(settings).directory.people())) == 8
    ec = trustme.CA().issue_cert("ec-app")  # Entra ID wants RSA; an EC key is a config error
    pem.write_bytes(ec.private_key_pem.bytes())
    with pytest.raises(ConfigError, match="RSA"):
        list(build(settings.model_copy(update={"token_file": None})).directory.people())


def test_wrong_secret_is_a_clear_error(fake: FakeGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = fake.settings_dict()
    del raw["client_secret_file"]
    settings = MicrosoftSettings.model_validate({**raw, "client_secret_env": "BW_TEST_SECRET"})
    with pytest.raises(ConfigError, match="BW_TEST_SECRET"):
        list(build(settings).directory.people())
    monkeypatch.setenv("BW_TEST_SECRET", "wrong")
    with pytest.raises(ConnectorError, match="invalid_client") as caught:
        list(build(settings).directory.people())
    assert "wrong" not in caught.value.message


def test_unknown_tenant_is_a_clear_error(fake: FakeGraph) -> None:
    settings = MicrosoftSettings.model_validate(fake.settings_dict(tenant_id="nope"))
    with pytest.raises(ConnectorError, match="nope"):
        list(build(settings).directory.people())


@pytest.mark.parametrize("extra, message", [
    ({}, "no credential"),
    ({"client_secret_env": "X", "certificate_file": "a.pem", "certificate_thumbprint": "ab"},
     "not both"),
    ({"certificate_file": "a.pem"}, "certificate_thumbprint"),
    ({"client_secret_env": "X", "graph_url": "http://graph.local/v1.0"}, "https"),
    ({"client_secret_env": "X", "batch_size": 21}, "20"),
    ({"client_secret_env": "X", "mailbox_concurrency": 5}, "4"),
])
def test_settings_are_checked(extra: dict[str, object], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        MicrosoftSettings.model_validate({"type": "microsoft", "tenant_id": "t", "client_id": "c",
                                          **extra})


def test_sovereign_cloud_scope() -> None:
    settings = MicrosoftSettings.model_validate({
        "type": "microsoft", "tenant_id": "t", "client_id": "c", "client_secret_env": "X",
        "authority_host": "https://login.microsoftonline.us", "graph_url": "https://graph.microsoft.us/v1.0"})
    assert settings.scope == "https://graph.microsoft.us/.default"
    assert settings.authority == "https://login.microsoftonline.us/t"


def test_departments_are_read_as_google_reads_them(fake: FakeGraph, connect: Build) -> None:
    fake.tenant.add_user("A@Example.org", "A", "Sales")
    fake.tenant.add_user("b@example.org", "B", " Sales  ")
    fake.tenant.add_user("c@example.org", "C", "  ")
    found = {p.email: p for p in connect().directory.people()}
    assert found["a@example.org"].department == found["b@example.org"].department == "Sales"
    assert found["c@example.org"].department == NO_DEPARTMENT

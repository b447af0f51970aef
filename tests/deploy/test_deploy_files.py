"""The deploy files run as shipped: each validates, and each config it ships loads and keeps
state on the volume with health reachable from where it is probed."""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from agent.config import Config, load_config
from rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCHEMA = Path(__file__).with_name("compose-spec.json")  # compose-spec/compose-spec, Apache-2.0
STATE_VOLUME = Path("/var/lib/bridgework")
#: An exact release (python:3.11.11-slim-bookworm) or a digest; never a moving tag.
PINNED = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*$|@sha256:[0-9a-f]{64}$")


def _load(text: str, tmp_path: Path, name: str = "config.yaml") -> Config:
    path = tmp_path / name
    path.write_text(text)
    return load_config(path)


def _state_on_volume(config: Config, volume: Path = STATE_VOLUME) -> None:
    assert config.store.path.is_absolute(), "a relative store path lands beside the config"
    assert config.store.path.is_relative_to(volume), config.store.path


# --- Kubernetes -------------------------------------------------------------------------------
def _manifests() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "bridgework.yaml").read_text()) if d]


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in docs}


@pytest.mark.parametrize("version", ["1.29.0", "1.37.0"])
def test_manifests_validate_against_the_kubernetes_schemas(version: str) -> None:
    for doc in _manifests():
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_catches_a_misspelt_probe() -> None:
    stateful = copy.deepcopy(_by_kind(_manifests())["StatefulSet"])
    container = stateful["spec"]["template"]["spec"]["containers"][0]
    container["livenesProbe"] = container.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(stateful, "1.37.0", strict=True)


def test_manifests_are_complete_and_restricted(tmp_path: Path) -> None:
    kinds = _by_kind(_manifests())
    assert set(kinds) == {"Secret", "ConfigMap", "Service", "StatefulSet"}
    stateful, service = kinds["StatefulSet"], kinds["Service"]
    assert stateful["spec"]["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["selector"].items() <= stateful["spec"]["template"]["metadata"]["labels"].items()
    pod = stateful["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert PINNED.search(container["image"]), container["image"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    restricted = container["securityContext"]
    assert restricted["allowPrivilegeEscalation"] is False
    assert restricted["readOnlyRootFilesystem"] is True
    assert restricted["capabilities"]["drop"] == ["ALL"]
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["terminationGracePeriodSeconds"] == 300

    config = _load(kinds["ConfigMap"]["data"]["config.yaml"], tmp_path)
    mounts = {m["name"]: Path(m["mountPath"]) for m in container["volumeMounts"]}
    claims = {c["metadata"]["name"] for c in stateful["spec"]["volumeClaimTemplates"]}
    assert "state" in claims
    _state_on_volume(config, mounts["state"])
    assert config.daemon.health_host == "0.0.0.0"  # the kubelet probes the pod's IP
    port = container["ports"][0]
    assert port["containerPort"] == config.daemon.health_port
    assert container["livenessProbe"]["httpGet"]["port"] == port["name"]
    # the key and the Graph secret come from the Secret's mount, under names it defines
    secret_keys = set(kinds["Secret"]["stringData"])
    assert config.secret.key_file is not None
    assert config.secret.key_file.parent == mounts["secret"]
    assert config.secret.key_file.name in secret_keys
    client_secret = getattr(config.source, "client_secret_file", None)
    assert client_secret is not None and client_secret.name in secret_keys
    assert config.rules is not None and config.rules.parent == mounts["config"]
    assert kinds["ConfigMap"]["data"][config.rules.name] == (DEPLOY / "rules.yaml").read_text()
    load_rules(DEPLOY / "rules.yaml")


# --- Dockerfiles ------------------------------------------------------------------------------
def _dockerfile(path: Path) -> DockerfileParser:
    return DockerfileParser(fileobj=io.BytesIO(path.read_bytes()))


def _instructions(parser: DockerfileParser, name: str) -> list[str]:
    return [i["value"] for i in parser.structure if i["instruction"] == name]


@pytest.mark.parametrize("name", ["Dockerfile", "compose/tools.Dockerfile"])
def test_dockerfiles_pass_the_lint(name: str) -> None:
    """The hadolint rules that matter here, on the parsed file."""
    parser = _dockerfile(DEPLOY / name)
    for base in _instructions(parser, "FROM"):
        image = base.split()[0]
        assert PINNED.search(image), f"{name}: FROM {image} is not pinned"
    users = _instructions(parser, "USER")
    assert users and users[-1].split(":")[0] not in {"root", "0"}, f"{name}: runs as root"
    for run in _instructions(parser, "RUN"):
        assert "sudo " not in run
        if "apt-get install" in run:
            assert "--no-install-recommends" in run and "rm -rf /var/lib/apt/lists" in run
        if re.search(r"\bpip install\b", run):
            assert "PIP_NO_CACHE_DIR=1" in " ".join(_instructions(parser, "ENV")) or "--no-cache-dir" in run
    for workdir in _instructions(parser, "WORKDIR"):
        assert workdir.startswith("/"), f"{name}: relative WORKDIR {workdir}"
    for exec_form in _instructions(parser, "ENTRYPOINT") + _instructions(parser, "CMD"):
        json.loads(exec_form)  # exec form, so SIGTERM reaches the process


def test_the_image_ships_a_config_that_runs_in_a_container(tmp_path: Path) -> None:
    parser = _dockerfile(DEPLOY / "Dockerfile")
    copies = [c.split() for c in _instructions(parser, "COPY") if "--from" not in c]
    shipped = {dest: ROOT / src for src, dest in (c for c in copies if len(c) == 2)}
    entry = json.loads(_instructions(parser, "ENTRYPOINT")[-1])
    config_path = entry[entry.index("--config") + 1]
    config = load_config(shipped[config_path])
    volumes = json.loads(_instructions(parser, "VOLUME")[-1])
    assert volumes == [str(STATE_VOLUME)]
    _state_on_volume(config)
    assert config.daemon.health_host == "0.0.0.0"
    outbox = getattr(config.source, "outbox", None)
    assert outbox is None or Path(outbox).is_relative_to(STATE_VOLUME)
    health = " ".join(_instructions(parser, "HEALTHCHECK"))
    assert f":{config.daemon.health_port}/healthz" in health
    assert str(config.daemon.health_port) in _instructions(parser, "EXPOSE")


# --- compose ----------------------------------------------------------------------------------
def _compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _unit_timeout() -> int:
    text = (DEPLOY / "bridgework.service").read_text()
    found = re.search(r"^TimeoutStopSec=(\d+)$", text, re.M)
    assert found
    return int(found.group(1))


def test_compose_validates_against_the_compose_spec() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    validator.validate(_compose())
    broken = _compose()
    broken["services"]["bridgework"]["stop_grace_periodd"] = "300s"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_compose_is_hardened_and_keeps_state(tmp_path: Path) -> None:
    services = _compose()["services"]
    assert {"bridgework", "radicale", "mailcatcher"} <= set(services)
    for name, service in services.items():
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert PINNED.search(service["image"]), name
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"
    bridgework = services["bridgework"]
    assert bridgework["stop_grace_period"] == f"{_unit_timeout()}s"
    mounts = {target: source for source, target, *_ in (v.split(":") for v in bridgework["volumes"])}
    assert mounts[str(STATE_VOLUME)] == "state" and "state" in _compose()["volumes"]
    config_file = DEPLOY / mounts["/etc/bridgework/config.yaml"]
    config = load_config(config_file)
    _state_on_volume(config)
    assert config.daemon.health_host == "0.0.0.0"
    assert bridgework["ports"] == [f"127.0.0.1:{config.daemon.health_port}:{config.daemon.health_port}"]
    assert config.rules is not None
    load_rules(DEPLOY / mounts[str(config.rules)])
    smtp = config.digest.smtp
    assert smtp is not None and smtp.host in services  # digests go to the mail catcher
    assert "BRIDGEWORK_SECRET_KEY" in bridgework["environment"]
    assert config.secret.key_env == "BRIDGEWORK_SECRET_KEY"


# --- systemd ----------------------------------------------------------------------------------
def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is missing: `make deploy-tools` installs Debian's systemd")
    return tool


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart exists: point the install path at this checkout's
    # command and change nothing else.
    unit = (DEPLOY / "bridgework.service").read_text()
    installed = "/opt/bridgework/.venv/bin/bridgework"
    assert installed in unit
    here = Path(sys.executable).with_name("bridgework")
    (tmp_path / "bridgework.service").write_text(unit.replace(installed, str(here)))
    done = subprocess.run([_systemd_analyze(), "verify", str(tmp_path / "bridgework.service")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_the_unit_is_rated_at_most_2_5_by_systemd_analyze_security() -> None:
    done = subprocess.run([_systemd_analyze(), "security", "--offline=yes", "--no-pager",
                           str(DEPLOY / "bridgework.service")],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for bridgework\.service: (\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 2.5, done.stdout


def test_the_unit_hands_its_config_the_key_and_the_state_directory() -> None:
    unit = (DEPLOY / "bridgework.service").read_text()
    config_path = re.search(r"--config (\S+)", unit)
    credential = re.search(r"^LoadCredential=([\w.-]+):(\S+)$", unit, re.M)
    state = re.search(r"^StateDirectory=(\S+)$", unit, re.M)
    assert config_path and credential and state
    assert config_path.group(1) == "/etc/bridgework/config.yaml"
    config = load_config(DEPLOY / "systemd" / "config.yaml")
    assert config.secret.credential == credential.group(1)
    _state_on_volume(config, Path("/var/lib") / state.group(1))
    outbox = getattr(config.source, "outbox", None)
    assert outbox is not None and Path(outbox).is_relative_to(Path("/var/lib") / state.group(1))
    assert config.rules == Path("/etc/bridgework/rules.yaml")

"""Each CLI test runs as a newcomer would: its own XDG directories, no configuration named."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Home:
    """A fresh user: a working directory and XDG config and state homes inside tmp_path."""

    cwd: Path
    env: dict[str, str]

    @property
    def config(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "bridgework" / "config.yaml"

    @property
    def state(self) -> Path:
        return Path(self.env["XDG_STATE_HOME"]) / "bridgework"

    def run(self, *args: str, timeout: float = 180, **extra: str) -> subprocess.CompletedProcess[str]:
        """``bridgework ARGS`` in a subprocess, output piped (not a terminal)."""
        return subprocess.run([sys.executable, "-m", "agent", *args], cwd=self.cwd,
                              env={**self.env, **extra}, capture_output=True, text=True,
                              timeout=timeout)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    cwd = tmp_path / "work"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("BRIDGEWORK_CONFIG", "BRIDGEWORK_SECRET_KEY", "NO_COLOR")}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state"),
            "PYTHONPATH": str(ROOT)}
    for key in ("BRIDGEWORK_CONFIG", "BRIDGEWORK_SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", env["XDG_CONFIG_HOME"])
    monkeypatch.setenv("XDG_STATE_HOME", env["XDG_STATE_HOME"])
    monkeypatch.chdir(cwd)
    yield Home(cwd, env)

"""What the server fixtures share: free ports, waiting, and failing or skipping honestly."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable
from typing import NoReturn

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """CI must run these tests, so there a missing server is a failure; elsewhere a skip."""
    if in_ci():
        pytest.fail(f"test server unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def wait_until(ready: Callable[[], bool], seconds: float, alive: Callable[[], bool]) -> bool:
    """Poll ``ready`` until it is true, the process died, or time ran out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            if ready():
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Ask a server to stop, and make it if it will not."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

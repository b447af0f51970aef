"""Headless Debian Chromium for the digest tests: page size and a screenshot.

The digest itself carries no script. To measure it, the test writes a copy
with one small script that records the page's size in an attribute, and
reads it back with ``--dump-dom``; the screenshot is taken of the mail as sent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
WIDTH = 600

_MEASURE = ("<script>document.documentElement.setAttribute('data-size',"
            "document.documentElement.scrollWidth+'x'+document.documentElement.scrollHeight)</script>")


@dataclass(frozen=True)
class Page:
    width: int
    height: int


def available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def _run(args: list[str], profile: Path) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def measure(html: str, width: int = WIDTH) -> Page:
    """The rendered page's scroll width and height at a ``width`` px wide window."""
    with tempfile.TemporaryDirectory(prefix="bw-chromium-") as tmp:
        page = Path(tmp) / "measure.html"
        page.write_text(html.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
        dom = _run(["--dump-dom", f"--window-size={width},800", page.as_uri()], Path(tmp) / "profile")
    found = re.search(r'data-size="(\d+)x(\d+)"', dom)
    if not found:
        raise RuntimeError("the measuring script did not run")
    return Page(int(found[1]), int(found[2]))


def screenshot(html: str, png: Path, width: int = WIDTH) -> Page:
    """A full-page PNG of ``html`` at ``width`` px; returns the measured page."""
    page = measure(html, width)
    with tempfile.TemporaryDirectory(prefix="bw-chromium-") as tmp:
        source = Path(tmp) / "digest.html"
        source.write_text(html, encoding="utf-8")
        png.parent.mkdir(parents=True, exist_ok=True)
        _run([f"--screenshot={png}", f"--window-size={width},{page.height}", source.as_uri()],
             Path(tmp) / "profile")
    return page

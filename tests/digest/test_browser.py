"""Each audience's digest from the demo organisation, rendered by headless Debian Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from tests.digest import browser
from tests.digest.conftest import Demo

ARTEFACTS = Path(os.environ.get("BRIDGEWORK_TEST_ARTEFACTS",
                                Path(__file__).resolve().parents[2] / "test-artefacts")) / "digests"

if not browser.available():
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"{browser.CHROMIUM} is missing: `make test` installs Debian's chromium")
    pytest.skip(f"{browser.CHROMIUM} is not installed (make test installs it)", allow_module_level=True)


def _ink(png: Path) -> float:
    """Share of pixels that differ from the page background: 0 for a blank page."""
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        background = rgb.getpixel((2, rgb.height - 2))
        histogram = rgb.getcolors(maxcolors=1 << 24) or []
        same = sum(count for count, colour in histogram if colour == background)
        return 1 - same / (rgb.width * rgb.height)


@pytest.mark.parametrize("audience", ["person", "manager", "admin"])
def test_digest_renders_and_fits_600_px(demo: Demo, audience: str) -> None:
    html = demo.digests[audience].message.html or ""
    png = ARTEFACTS / f"{audience}.png"
    page = browser.screenshot(html, png)
    print(f"\n{audience} digest screenshot: {png} ({page.width}x{page.height})")
    assert page.width <= browser.WIDTH, f"{audience} digest is {page.width} px wide"
    assert page.height > 500  # a real digest, not a few lines
    with Image.open(png) as image:
        assert image.width == browser.WIDTH and image.height == page.height
        colours = len(image.convert("RGB").getcolors(maxcolors=1 << 24) or [])
    assert colours > 50  # text, bars and cards, not a flat page
    assert _ink(png) > 0.2


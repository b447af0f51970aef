"""The two parts of a digest: the plain text carries every figure the HTML shows; the HTML
is mail-safe (inlined CSS, no scripts, no external assets)."""

from __future__ import annotations

import pytest

from tests.digest.conftest import Demo
from tests.digest.parts import figures, tags, visible_text

AUDIENCES = ["person", "manager", "admin"]


@pytest.mark.parametrize("audience", AUDIENCES)
def test_plain_text_holds_every_figure_the_html_shows(demo: Demo, audience: str) -> None:
    message = demo.digests[audience].message
    shown = figures(visible_text(message.html or ""))
    assert len(shown) > 10  # the digest has figures at all
    missing = shown - figures(message.text)
    assert not missing, f"{audience}: figures only in the HTML part: {sorted(missing)}"


@pytest.mark.parametrize("audience", AUDIENCES)
def test_html_is_mail_safe(demo: Demo, audience: str) -> None:
    html = demo.digests[audience].message.html or ""
    found = tags(html)
    names = {tag for tag, _ in found}
    assert not names & {"script", "link", "img", "iframe", "style", "object"}
    for _, attrs in found:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value.startswith(("http:", "https:", "//")), value
    styled = sum(1 for _, attrs in found if attrs.get("style"))
    assert styled > 30  # the stylesheet was inlined into the elements


def test_person_digest_speaks_to_the_reader(demo: Demo) -> None:
    message = demo.digests["person"].message
    assert "Only you see this" in message.text and "Only you see this" in (message.html or "")
    assert "CONVERSATIONS PLACED FOR YOU" in message.text and "Questions to take in" in message.text
    assert " time (" in message.text  # the reader's zone is named
    assert "Opt out" in message.text and "mailto:bridgework+stop@" in (message.html or "")

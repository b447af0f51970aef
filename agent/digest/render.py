"""Templates to mail: Jinja2 for both parts, CSS moved into style attributes by css-inline.

Templates keep their CSS in one ``<style>`` block so they stay readable;
many mail clients ignore such blocks, so it is inlined before sending.
"""

from __future__ import annotations

import functools
from typing import Any

import css_inline
import jinja2


def hours(value: float) -> str:
    return f"{value:.1f}"


def signed(value: int | float) -> str:
    """A change in percent, like "+12 %" or "-40 %" (the same characters in both parts)."""
    return f"{round(value):+d} %"


def share(value: float) -> str:
    return f"{value * 100:.1f} %"


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("agent.digest", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(hours=hours, signed=signed, share=share)
    return env


@functools.cache
def _inliner() -> css_inline.CSSInliner:
    # No remote stylesheets are ever fetched: digests carry no external assets.
    return css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)


def render(name: str, **context: Any) -> tuple[str, str]:
    """The plain-text and the inlined HTML part of one digest."""
    env = _env()
    text = env.get_template(f"{name}.txt.j2").render(**context)
    html = env.get_template(f"{name}.html.j2").render(**context)
    return _tidy(text), _inliner().inline(html)


def _tidy(text: str) -> str:
    """At most one blank line in a row: templates may leave more where a section is empty."""
    lines: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line and (not lines or not lines[-1]):
            continue
        lines.append(line)
    return "\n".join(lines).strip() + "\n"

"""Reading a digest's HTML as a person would: the visible text, its figures, its links."""

from __future__ import annotations

import re
from html.parser import HTMLParser

FIGURE = re.compile(r"\d+(?:[.:]\d+)?")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("head", "style", "script", "title"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "script", "title"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Visible()
    parser.feed(html)
    return parser.tags


def figures(text: str) -> set[str]:
    return set(FIGURE.findall(text))

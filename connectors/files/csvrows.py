"""CSV read one physical line at a time, so one bad row can never take others with it.

The csv module alone lets a stray quote open a field that swallows the next
person's line, stops the whole file at a field over its size limit, and keeps
NUL bytes as data. Here a row is one line: a quoted field cannot span lines
(the row is reported and the next line read on its own), an over-long line
is reported and skipped without being held in memory, and so is a NUL byte.
"""

from __future__ import annotations

import csv
from collections.abc import Generator
from pathlib import Path
from typing import BinaryIO

from connectors.base import Problems

#: The longest line read; no directory row comes near it (the csv module's own field limit).
MAX_LINE_BYTES = 128 * 1024
_BOM = b"\xef\xbb\xbf"


def csv_rows(path: Path, problems: Problems) -> Generator[tuple[int, list[str]], None, None]:
    """Every usable row as (line number, cells); each unusable one reported by line and skipped.

    Blank lines are skipped silently. Cells are decoded as UTF-8 (bad bytes replaced).
    """
    with path.open("rb") as f:
        number = 0
        while raw := f.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                _skip_rest_of_line(f)
                problems.report(path, number, f"row longer than {MAX_LINE_BYTES // 1024} KiB; "
                                "skipped")
                continue
            if number == 1:
                raw = raw.removeprefix(_BOM)
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not text.strip():
                continue
            if "\0" in text:
                problems.report(path, number, "row contains a NUL byte; skipped")
                continue
            try:
                rows = list(csv.reader([text], strict=True))
            except csv.Error as exc:
                problems.report(path, number, f"{_quote_problem(exc)}; skipped")
                continue
            yield number, rows[0]


def _skip_rest_of_line(f: BinaryIO) -> None:
    while (chunk := f.readline(MAX_LINE_BYTES)) and not chunk.endswith(b"\n"):
        pass


def _quote_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "end of data" in text:
        return "a quote is never closed (a quoted field cannot run onto the next line)"
    if "expected after" in text:
        return "a closing quote is followed by more text in the same field"
    if "new-line" in text:
        return "a carriage return inside the row"
    return f"not a CSV row ({text})"

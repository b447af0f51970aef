"""Incremental reading of append-only JSONL exports by byte offset.

The cursor of a JSONL file is the byte offset reached (always just past a
complete line) plus the file's identity: its inode and a hash of its first
bytes. If the identity changed or the file shrank, it is read again from the
start (``resynced``); the ledger ignores interactions it already counted.
Files read whole (ICS, mbox) are re-read when their :func:`fingerprint` changes.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.base import Problems
from connectors.files.fields import RECORD_ERRORS, json_problem

log = logging.getLogger(__name__)

CHUNK_SIZE = 50_000  # interactions per SyncChunk
BLOCK_SIZE = 1 << 22  # bytes read at a time from a JSONL file
HEAD_BYTES = 4096  # how much of a file's start identifies it


@dataclass(slots=True)
class Position:
    """Where a JSONL read stands: the file's identity and the offset just past a full line."""

    inode: int = 0
    head: str = ""
    head_len: int = 0
    offset: int = 0
    line: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def dump(self) -> str:
        return json.dumps({"inode": self.inode, "head": self.head, "head_len": self.head_len,
                           "offset": self.offset, "line": self.line, **self.extra},
                          separators=(",", ":"))


def _head_hash(path: Path, length: int) -> str:
    with path.open("rb") as f:
        return hashlib.sha256(f.read(length)).hexdigest()


def resume(path: Path, raw: str | None) -> tuple[Position, bool]:
    """The stored position if it still describes this file, else the start (and True)."""
    if not raw:
        return Position(), False
    try:
        data = json.loads(raw)
        pos = Position(int(data.pop("inode")), str(data.pop("head")), int(data.pop("head_len")),
                        int(data.pop("offset")), int(data.pop("line")), data)
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("%s: unreadable cursor; reading the file again from the start", path)
        return Position(), True
    st = path.stat()
    if (st.st_ino != pos.inode or st.st_size < pos.offset
            or _head_hash(path, pos.head_len) != pos.head):
        log.info("%s was rewritten; reading it again from the start", path)
        return Position(), True
    return pos, False


def cursor_at(path: Path, pos: Position, offset: int, line: int) -> str:
    """The cursor for having read ``path`` up to ``offset`` (just past line ``line``)."""
    pos.inode = path.stat().st_ino
    pos.offset, pos.line = offset, line
    pos.head_len = min(HEAD_BYTES, offset)
    pos.head = _head_hash(path, pos.head_len)
    return pos.dump()


LineParser = Callable[[bytes, int], None]


def scan_lines(path: Path, start: int, first_line: int, parse: LineParser,
                problems: Problems | None, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Feed every complete line after ``start`` to ``parse(line, byte_offset)``.

    Yields ``(offset, line_number)`` after each block, the offset being just
    past the last complete line. A final line without a newline is parsed too
    (a file need not end with one) but never counted as read, so a writer still
    appending it is picked up whole next time.
    """
    line_no = first_line
    with path.open("rb") as f:
        f.seek(start)
        base, carry = start, b""
        while block := f.read(BLOCK_SIZE if end is None else max(0, min(BLOCK_SIZE, end - f.tell()))):
            data = carry + block
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            carry = data[cut + 1:]
            line_no = _parse_block(path, data[:cut], base, line_no, parse, problems)
            base += cut + 1
            yield base, line_no
        if carry and not carry.isspace():
            try:
                parse(carry, base)
            except RECORD_ERRORS as exc:
                if problems is not None:
                    problems.report(path, line_no + 1,
                                    f"incomplete last line: {json_problem(exc)}")
        yield base, line_no


def _parse_block(path: Path, block: bytes, at: int, line_no: int, parse: LineParser,
                 problems: Problems | None) -> int:
    """Parse the complete lines of one block; returns the last line number."""
    # Millions of small objects are created and none of them forms a cycle, so the
    # cycle collector would only rescan them again and again: pause it per block.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for raw in block.split(b"\n"):
            line_no += 1
            if raw and not raw.isspace():
                try:
                    parse(raw, at)
                except RECORD_ERRORS as exc:
                    if problems is not None:
                        problems.report(path, line_no, json_problem(exc))
            at += len(raw) + 1
    finally:
        if collecting:
            gc.enable()
    return line_no



def count_newlines(f: Any, start: int, end: int) -> int:
    """How many lines end between two byte offsets of an open file."""
    f.seek(start)
    count, left = 0, end - start
    while left > 0:
        block = f.read(min(BLOCK_SIZE, left))
        if not block:
            break
        count += block.count(b"\n")
        left -= len(block)
    return count



def fingerprint(path: Path, *extra: object) -> str:
    """A stamp that changes when a file read whole (ICS, mbox, holds.ics) changes."""
    st = path.stat()
    return json.dumps([st.st_size, st.st_mtime_ns, *extra], default=str)


"""Messages of a data directory: ``messages.jsonl`` and ``mail/*.mbox``.

A large unread messages.jsonl can be read by several workers at once, one
line-aligned byte range each (:meth:`FilesMail.split`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from connectors.base import Interaction, Mail, Person, SyncChunk
from connectors.files.fields import json_record
from connectors.files.lines import (
    CHUNK_SIZE,
    Position,
    count_newlines,
    cursor_at,
    fingerprint,
    resume,
    scan_lines,
)
from connectors.files.mbox import read_mbox
from connectors.files.records import message_from_record

SPLIT_MIN_BYTES = 32 * 2**20  # smaller unread mail is read in one piece


class MessagesPart(Mail):
    """One byte range of messages.jsonl, read as a source of its own (``FilesMail.split``)."""

    parallel_safe = True
    reads_files = True

    def __init__(self, mail: FilesMail, path: Path, pos: Position, start: int, end: int,
                 first_line: int, resynced: bool, *, last: bool, cursors: Mapping[str, str]) -> None:
        self.mail, self.path, self.pos = mail, path, pos
        self.start, self.end, self.first_line = start, end, first_line
        self.resynced, self.last, self.cursors = resynced, last, cursors
        self._problems = mail.problems  # one list: a problem is the file's, whichever part found it

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        yield from self.mail._read_range(self.path, self.pos, self.start, self.first_line,
                                         self.end, self.resynced, self.last)
        if self.last:
            mail_dir = self.mail.root / "mail"
            if mail_dir.is_dir():
                for box_path in sorted(mail_dir.glob("*.mbox")):
                    yield from self.mail._read_mbox(box_path, self.cursors)


class FilesMail(Mail):
    """Messages from ``messages.jsonl`` and ``mail/*.mbox``."""

    parallel_safe = True  # plain files, no connections: may be read in a forked process
    reads_files = True

    def __init__(self, root: Path, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.root = root
        self.chunk_size = chunk_size
        self.split_min_bytes = SPLIT_MIN_BYTES

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        path = self.root / "messages.jsonl"
        if path.is_file():
            yield from self._read_jsonl(path, cursors.get("files:messages"))
        mail_dir = self.root / "mail"
        if mail_dir.is_dir():
            for box_path in sorted(mail_dir.glob("*.mbox")):
                yield from self._read_mbox(box_path, cursors)

    def _read_jsonl(self, path: Path, raw: str | None) -> Iterator[SyncChunk]:
        pos, resynced = resume(path, raw)
        yield from self._read_range(path, pos, pos.offset, pos.line, None, resynced, True)

    def _read_range(self, path: Path, pos: Position, start: int, first_line: int,
                    end: int | None, resynced: bool, mark: bool) -> Iterator[SyncChunk]:
        """Messages between two byte offsets; cursors only when ``mark`` (the last range)."""
        pending: list[Interaction] = []
        append = pending.append

        def parse(line: bytes, _offset: int) -> None:
            append(message_from_record(json_record(line)))

        offset, line = start, first_line
        for offset, line in scan_lines(path, start, first_line, parse, self.problems, end):
            if len(pending) >= self.chunk_size:
                cursor = cursor_at(path, pos, offset, line) if mark else None
                yield SyncChunk(list(pending), "files:messages", cursor, resynced)
                pending.clear()
                resynced = False
        cursor = cursor_at(path, pos, offset, line) if mark else None
        yield SyncChunk(list(pending), "files:messages", cursor, resynced)

    def split(self, cursors: Mapping[str, str], parts: int) -> list[MessagesPart] | None:
        """The unread part of messages.jsonl in ``parts`` line-aligned byte ranges, for
        reading in parallel; None when it is too small to be worth it.

        Only the last range stores cursors, and it also reads the mbox files; the
        caller stores cursors once every range is done (see ``agent/parallel.py``).
        """
        path = self.root / "messages.jsonl"
        if parts < 2 or not path.is_file():
            return None
        pos, resynced = resume(path, cursors.get("files:messages"))
        size = path.stat().st_size
        if size - pos.offset < self.split_min_bytes:
            return None
        cuts, lines = [pos.offset], [pos.line]
        with path.open("rb") as f:
            for k in range(1, parts):
                target = pos.offset + (size - pos.offset) * k // parts
                f.seek(target)
                f.readline()  # to the start of the next line
                cut = f.tell()
                lines.append(lines[-1] + count_newlines(f, cuts[-1], cut))
                cuts.append(cut)
        cuts.append(size)
        return [MessagesPart(self, path, pos, cuts[i], cuts[i + 1], lines[i], resynced and i == 0,
                             last=i == parts - 1, cursors=cursors)
                for i in range(parts)]

    def _read_mbox(self, path: Path, cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        key = f"files:mbox:{path.name}"
        stamp = fingerprint(path)
        if cursors.get(key) == stamp:
            return
        yield SyncChunk(read_mbox(path, self.problems), key, stamp, key in cursors)

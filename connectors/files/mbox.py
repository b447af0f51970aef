"""``mail/*.mbox``: mbox exports, of which only the header block is ever read."""

from __future__ import annotations

import email.utils
import hashlib
import mailbox
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from connectors.base import Interaction, InteractionKind, Problems
from connectors.files.fields import BadRecord

_EMAIL = InteractionKind.EMAIL
_HEADER_PARSER = BytesHeaderParser()


def _message_headers(box: mailbox.mbox, key: str) -> Any:
    """Only the header block of one message: the body is never read."""
    with box.get_file(key) as fp:
        block: list[bytes] = []
        for raw in fp:
            if raw in (b"\n", b"\r\n"):
                break
            block.append(raw)
    return _HEADER_PARSER.parsebytes(b"".join(block))


def _mbox_message(headers: Any) -> Interaction:
    senders = [a.lower() for _, a in email.utils.getaddresses(headers.get_all("From", []))
               if "@" in a]
    if not senders:
        raise BadRecord("no From address")
    recipients = [a.lower() for _, a in email.utils.getaddresses(
        headers.get_all("To", []) + headers.get_all("Cc", [])) if "@" in a]
    raw_date = headers.get("Date")
    if not raw_date:
        raise BadRecord("no Date header")
    try:
        when = email.utils.parsedate_to_datetime(str(raw_date))
    except (ValueError, TypeError, IndexError):
        raise BadRecord(f"unreadable Date {str(raw_date)!r}") from None
    if when.tzinfo is None:
        raise BadRecord(f"Date {str(raw_date)!r} has no UTC offset")
    unique = dict.fromkeys(r for r in recipients if r != senders[0])
    ident = str(headers.get("Message-ID", "")).strip()
    if not ident:  # a stable stand-in so re-reading the file does not count it twice
        seed = "\x1f".join([senders[0], when.isoformat(), *unique])
        ident = "<" + hashlib.sha256(seed.encode()).hexdigest()[:32] + "@bridgework.local>"
    return Interaction(ident, _EMAIL, when, (senders[0], *unique),
                       len(dict.fromkeys(recipients)))


def _mbox_line(box: mailbox.mbox, key: str, path: Path) -> str:
    """The line a message starts on, for problem reports (the mbox table of contents)."""
    toc = getattr(box, "_toc", None)
    if not toc or key not in toc:
        return f"message {key}"
    with path.open("rb") as f:
        return str(f.read(toc[key][0]).count(b"\n") + 1)



def read_mbox(path: Path, problems: Problems) -> list[Interaction]:
    """Every message of one mbox file as metadata; bad ones are reported and skipped."""
    with path.open("rb") as f:
        start = f.read(5)
    if start and start != b"From ":
        problems.report(path, 1, "not an mbox file (it must start with a 'From ' line)")
        return []
    box = mailbox.mbox(path, create=False)
    out: list[Interaction] = []
    try:
        for key in box.iterkeys():
            try:
                out.append(_mbox_message(_message_headers(box, key)))
            except (BadRecord, ValueError, TypeError, IndexError) as exc:
                problems.report(path, _mbox_line(box, key, path), str(exc))
    finally:
        box.close()
    return out

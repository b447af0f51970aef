"""One message's header block as mail metadata: pure, tolerant, and telling.

Real mailboxes hold every kind of header: RFC 2047 encoded names, group
syntax (``team: a@x, b@x;``, ``undisclosed-recipients:;``), raw 8-bit bytes
in odd charsets, dates that are missing, unparseable or centuries off. The
parser takes what can be used and says what it could not, so the caller can
report it at the message's folder and UID. Names are decoded only as far as
finding addresses needs; no name, subject or body is kept.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.parser import BytesHeaderParser

from connectors.base import Interaction, InteractionKind

FIELDS = ("FROM", "TO", "CC", "DATE", "MESSAGE-ID")
_PARSER = BytesHeaderParser(policy=email.policy.default)
_COMPAT = BytesHeaderParser()  # the lenient parser, for headers the strict one cannot read
_EARLIEST, _LATEST = 1970, 2200


@dataclass
class Parsed:
    interaction: Interaction | None
    problems: list[str] = field(default_factory=list)


def _clean(address: Address | tuple[str, str]) -> str:
    if isinstance(address, Address):
        user, domain = address.username, address.domain
    else:
        user, _, domain = address[1].rpartition("@")
    user, domain = user.strip(), domain.strip().rstrip(".")
    if not user or not domain or any(c in user + domain for c in ' "<>@,;\\'):
        return ""
    return f"{user}@{domain}".lower()


def _addresses(message: email.message.Message, raw: bytes, name: str,
               problems: list[str]) -> list[str]:
    """Every usable address in one header (groups flattened), in order."""
    found: list[str] = []
    try:
        for value in message.get_all(name, []):
            found.extend(_clean(a) for a in getattr(value, "addresses", ()))
            defects = sorted({type(d).__name__ for d in getattr(value, "defects", ())})
            if defects:
                problems.append(f"odd {name} header ({', '.join(defects)}); usable addresses kept")
    except (ValueError, TypeError, IndexError, AttributeError, LookupError) as exc:
        problems.append(f"unreadable {name} header ({type(exc).__name__}); read loosely")
        loose = _COMPAT.parsebytes(raw).get_all(name, [])
        found = [_clean(pair) for pair in email.utils.getaddresses([str(v) for v in loose])]
    return [a for a in found if a]


def _date(message: email.message.Message, problems: list[str]) -> dt.datetime | None:
    try:
        header = message.get("Date")
    except (ValueError, TypeError, IndexError, AttributeError, LookupError):
        header = None
        problems.append("unreadable Date header")
    if header is None:
        problems.append("no Date header")
        return None
    when = getattr(header, "datetime", None)
    if when is None:
        try:
            when = email.utils.parsedate_to_datetime(str(header))
        except (ValueError, TypeError, IndexError):
            problems.append("unparseable Date header")
            return None
    if when.tzinfo is None:  # "-0000": the time is UTC, its zone unknown (RFC 5322 3.3)
        when = when.replace(tzinfo=dt.UTC)
    if not _EARLIEST <= when.year <= _LATEST:
        problems.append(f"implausible Date year {when.year}")
        return None
    return when


def parse(raw: bytes, arrived: dt.datetime | None, *, owner: str,
          sent_folder: bool) -> Parsed:
    """A header block (FROM TO CC DATE MESSAGE-ID) as an e-mail interaction.

    :param arrived: the server's INTERNALDATE, used when the Date header is unusable.
    :param owner: whose mailbox it is: the sender of a sent message without a From.
    :param sent_folder: the message is in the owner's sent folder.
    """
    problems: list[str] = []
    try:
        message = _PARSER.parsebytes(raw)
    except (ValueError, TypeError, IndexError, LookupError) as exc:
        return Parsed(None, [f"unreadable header block ({type(exc).__name__})"])
    senders = _addresses(message, raw, "From", problems)
    if not senders:
        if not sent_folder:
            problems.append("no usable From address; skipped")
            return Parsed(None, problems)
        problems.append("no usable From address; the mailbox owner sent it")
        senders = [owner]
    recipients = _addresses(message, raw, "To", problems) + _addresses(message, raw, "Cc", problems)
    when = _date(message, problems)
    if when is None:
        if arrived is None:
            problems.append("no arrival time either; skipped")
            return Parsed(None, problems)
        problems[-1] += "; using the server's arrival time"
        when = arrived if arrived.tzinfo else arrived.replace(tzinfo=dt.UTC)
    sender = senders[0]
    unique = list(dict.fromkeys(r for r in recipients if r != sender))
    ident = str(message.get("Message-ID", "") or "").strip()
    if not ident:
        # the same message in the sender's and each recipient's mailbox gets the same stand-in
        seed = "\x1f".join([sender, when.astimezone(dt.UTC).isoformat(), *unique])
        ident = "<" + hashlib.sha256(seed.encode()).hexdigest()[:32] + "@bridgework.imap>"
    return Parsed(Interaction(ident, InteractionKind.EMAIL, when, (sender, *unique),
                              len(dict.fromkeys(recipients))), problems)

"""Digests: compose this week's messages and send each one at most once.

Composition (``agent.digest``) is pure; this step gathers its input from
the analysis and the store, sends, and records each message under its key
(pseudonymised: the key names a person) so a rerun skips what was sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from agent.digest import DigestInput, compose
from agent.pipeline.analyse import Analysis
from agent.pipeline.org import Org
from agent.pseudonym import Pseudonymiser
from agent.store import Store, SuggestionRecord
from connectors.base import Sender
from rules.model import Rules


def send_digests(
    sender: Sender,
    store: Store,
    org: Org,
    rules: Rules,
    analysis: Analysis,
    excluded: Mapping[str, str],
    now: dt.datetime,
    pseudonymiser: Pseudonymiser,
    *,
    rules_errors: Sequence[str] = (),
    sender_address: str | None = None,
    opt_out_address: str | None = None,
) -> int:
    """Send the digests not sent yet; returns how many were sent."""
    data = DigestInput(now.date(), org.people, analysis.seams, analysis.trends, analysis.lapsed,
                       recent_records(store.suggestions(), org, now), excluded, rules,
                       tuple(rules_errors), sender_address, opt_out_address)
    sent = 0
    for message in compose(data):
        key = pseudonymiser.person(message.key)
        if store.digest_sent(key):
            continue
        sender.send(message)
        store.mark_digest_sent(key, now)
        sent += 1
    return sent


def recent_records(records: Iterable[SuggestionRecord], org: Org, now: dt.datetime
                   ) -> list[tuple[SuggestionRecord, tuple[str, ...]]]:
    """Suggestions of this week and to come, with their people's e-mails (organiser
    first); those with someone who has left are dropped."""
    recent = (now - dt.timedelta(days=7)).isoformat()
    out = []
    for record in records:
        if (record.start or record.created) < recent:
            continue
        emails = tuple(org.by_pseudonym.get(p, "") for p in record.people)
        if all(emails):
            out.append((record, emails))
    return out

"""The contact ledger: weekly contact weight per pair of people, pseudonymised.

No raw event or message is kept. Each interaction becomes a few
(week, person, person, weight) contributions and is then forgotten, except
for a keyed digest of its id that stops it being counted twice when a source
delivers it again (resync, the same meeting seen in several calendars).

- ``weeks``: week arithmetic (``week_of``, ``week_start``);
- ``counting``: the counting rules (``weigh``, ``meeting_share``, ``Batcher``);
- ``storage``: the week files on disk (``LedgerFiles``);
- ``conversations``: the distinct sets of people brought together in a week;
- ``table``: the weeks an analysis reads, as flat arrays (``read_table``).
"""

from agent.ledger.counting import AddStats, Batch, Batcher, meeting_share, weigh
from agent.ledger.storage import MAX_SEGMENTS, SCHEMA, LedgerFiles, WeekContacts
from agent.ledger.table import ContactTable, Conversations, read_table
from agent.ledger.weeks import WEEK_EPOCH, week_of, week_of_timestamp, week_start

__all__ = [
    "MAX_SEGMENTS", "SCHEMA", "WEEK_EPOCH", "AddStats", "Batch", "Batcher", "ContactTable",
    "Conversations", "LedgerFiles", "WeekContacts", "meeting_share", "read_table", "week_of",
    "week_of_timestamp", "week_start", "weigh",
]

"""The pipeline: sync → ledger → drift → matcher → slots → holds → digest.

The pure steps (``analyze``, ``plan``) take data and return data; the steps
with side effects (``sync``, ``place``, ``upkeep``, ``send_digests``) talk to
the connectors and the store, in an order that makes a crash at any point
safe. Each step lives in its own module; this package names them all, so
callers write ``pipeline.sync(...)``, ``pipeline.Analysis`` and so on.
"""

from agent.matcher import History
from agent.pipeline.analyze import Analysis, analyze, last_full_week
from agent.pipeline.digests import DigestReport, record_sync, send_digests
from agent.pipeline.intake import KeyedCursors, SyncReport, opt_out_senders
from agent.pipeline.org import Org, Progress, load_org
from agent.pipeline.place import PlaceReport, place
from agent.pipeline.plan import BusyLookup, Planned, exclusions, history_from, plan, with_our_holds
from agent.pipeline.records import hold_for_record
from agent.pipeline.sync import sync
from agent.pipeline.upkeep import UpkeepReport, upkeep

__all__ = [
    "Analysis", "BusyLookup", "DigestReport", "History", "KeyedCursors", "Org", "PlaceReport", "Planned",
    "Progress", "SyncReport", "UpkeepReport", "analyze", "exclusions", "history_from",
    "hold_for_record", "last_full_week", "load_org", "opt_out_senders", "place", "plan",
    "record_sync", "send_digests", "sync", "upkeep", "with_our_holds",
]

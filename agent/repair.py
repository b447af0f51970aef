"""Seams under repair: a flagged seam keeps its suggestions until its share is back.

The detector judges the recent weeks against a baseline that moves with
time: some weeks after a seam thinned, the thin weeks are part of its
baseline and the fall no longer stands out from the week-to-week variation,
although nothing was repaired. So once a seam is flagged, the share it was
flagged against is remembered, and the seam stays on the plan while its
recent share is still below that baseline by the rules' ``drop``, for at
most ``pairing.repair_weeks``. Then it is repaired, or given up on, and the
detector alone decides again. The share is of the signal that flagged it when
that signal is a share of the two departments' own counts (ties, people,
conversations: ``SHARES``), so a seam flagged because its conversations fell
while its ties held is repaired when its conversations are back; otherwise it
is the share of ties.

Pure core (``repair_step``); ``keep_repairing`` reads and writes the store's
memory of it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

from agent.drift import CONVERSATIONS, PEOPLE, TIES, SeamResult
from agent.ledger import week_of
from agent.pipeline.analyze import Analysis
from agent.store import Store
from rules.model import Rules

_PREFIX = "repair:"


#: signals whose level is a share of the two departments' own counts, so one analysis's
#: can be held against a later one's (contact and the per-tie levels are against what the
#: baseline of that analysis expects)
SHARES = (TIES, PEOPLE, CONVERSATIONS)


@dataclass(frozen=True)
class Repair:
    baseline: float  # the seam's share of ``signal`` when it was first flagged
    since: int  # the week it was first flagged
    signal: str = TIES


def shares(seam: SeamResult, signal: str = TIES) -> tuple[float, float] | None:
    """The seam's baseline and recent share of a signal (None: not tested this time)."""
    for test in seam.tests:
        if test.signal == signal:
            return test.baseline, test.recent
    if signal == TIES and not seam.tests:
        return seam.baseline_share, seam.recent_share  # the seam's own figures are of ties then
    return None


def _flagged(seam: SeamResult, week: int) -> Repair:
    """What a seam flagged this week is remembered by."""
    signal = seam.signal if seam.signal in SHARES else TIES
    levels = shares(seam, signal)
    if levels is None:
        signal, levels = TIES, shares(seam) or (seam.baseline_share, seam.recent_share)
    return Repair(levels[0], week, signal)


def repair_step(seams: list[SeamResult], repairs: Mapping[tuple[str, str], Repair], rules: Rules,
                week: int) -> tuple[list[SeamResult], dict[tuple[str, str], Repair]]:
    """The seams with those still under repair marked drifting, and the repairs kept."""
    out, kept = [], {}
    for seam in seams:
        first, second = sorted(seam.departments)
        key = (first, second)
        found = repairs.get(key)
        if seam.drifting:
            kept[key] = found or _flagged(seam, week)
            out.append(seam)
            continue
        if found is None or week - found.since >= rules.pairing.repair_weeks:
            out.append(seam)
            continue
        drop = rules.seams.drop_for(*seam.departments)
        levels = shares(seam, found.signal)
        if levels is not None and levels[1] >= found.baseline * (1 - drop):
            out.append(seam)  # back within the threshold: repaired
            continue
        kept[key] = found
        now = "not measured" if levels is None else f"{levels[1]:.1%}"
        out.append(replace(seam, drifting=True, gate="repair",
                           reason=f"under repair since week {found.since}: share of "
                                  f"{found.signal} {now} against {found.baseline:.1%} "
                                  "when flagged"))
    out.sort(key=lambda s: (not s.drifting, -s.score))
    return out, kept


def _load(store: Store, seams: list[SeamResult]) -> dict[tuple[str, str], Repair]:
    out = {}
    for seam in seams:
        a, b = sorted(seam.departments)
        raw = store.meta(f"{_PREFIX}{a}|{b}")
        if raw:
            data = json.loads(raw)
            out[(a, b)] = Repair(float(data["baseline"]), int(data["since"]),
                                 str(data.get("signal", TIES)))
    return out


def keep_repairing(analysis: Analysis, store: Store, rules: Rules, now: dt.datetime) -> Analysis:
    """The analysis with the seams still under repair drifting; the store remembers them."""
    if rules.pairing.repair_weeks == 0:
        return analysis
    before = _load(store, analysis.seams)
    seams, kept = repair_step(analysis.seams, before, rules, week_of(now))
    for (a, b), found in kept.items():
        if before.get((a, b)) != found:
            store.set_meta(f"{_PREFIX}{a}|{b}",
                           json.dumps({"baseline": found.baseline, "since": found.since,
                                       "signal": found.signal}))
    for a, b in set(before) - set(kept):
        store.set_meta(f"{_PREFIX}{a}|{b}", "")
    return replace(analysis, seams=seams)

"""Seams under repair: a flagged seam keeps its suggestions until its share is back.

The detector judges the recent weeks against a baseline that moves with
time: some weeks after a seam thinned, the thin weeks are part of its
baseline and the fall no longer stands out from the week-to-week variation,
although nothing was repaired. So once a seam is flagged, the share of ties
it was flagged against is remembered, and the seam stays on the plan while
its recent share is still below that baseline by the rules' ``drop``, for at
most ``pairing.repair_weeks``. Then it is repaired, or given up on, and the
detector alone decides again.

Pure core (``repair_step``); ``keep_repairing`` reads and writes the store's
memory of it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

from agent.drift import TIES, SeamResult
from agent.ledger import week_of
from agent.pipeline.analyze import Analysis
from agent.store import Store
from rules.model import Rules

_PREFIX = "repair:"


@dataclass(frozen=True)
class Repair:
    baseline: float  # the seam's share of ties when it was first flagged
    since: int  # the week it was first flagged


def ties_shares(seam: SeamResult) -> tuple[float, float]:
    """The seam's baseline and recent share of ties (its deciding signal when ties are absent)."""
    for test in seam.tests:
        if test.signal == TIES:
            return test.baseline, test.recent
    return seam.baseline_share, seam.recent_share  # the seam's own figures are of ties then


def repair_step(seams: list[SeamResult], repairs: Mapping[tuple[str, str], Repair], rules: Rules,
                week: int) -> tuple[list[SeamResult], dict[tuple[str, str], Repair]]:
    """The seams with those still under repair marked drifting, and the repairs kept."""
    out, kept = [], {}
    for seam in seams:
        first, second = sorted(seam.departments)
        key = (first, second)
        baseline, recent = ties_shares(seam)
        found = repairs.get(key)
        if seam.drifting:
            kept[key] = found or Repair(baseline, week)
            out.append(seam)
            continue
        if found is None or week - found.since >= rules.pairing.repair_weeks:
            out.append(seam)
            continue
        drop = rules.seams.drop_for(*seam.departments)
        if recent >= found.baseline * (1 - drop):
            out.append(seam)  # back within the threshold: repaired
            continue
        kept[key] = found
        out.append(replace(seam, drifting=True, gate="repair",
                           reason=f"under repair since week {found.since}: share of ties "
                                  f"{recent:.1%} against {found.baseline:.1%} when flagged"))
    out.sort(key=lambda s: (not s.drifting, -s.score))
    return out, kept


def _load(store: Store, seams: list[SeamResult]) -> dict[tuple[str, str], Repair]:
    out = {}
    for seam in seams:
        a, b = sorted(seam.departments)
        raw = store.meta(f"{_PREFIX}{a}|{b}")
        if raw:
            data = json.loads(raw)
            out[(a, b)] = Repair(float(data["baseline"]), int(data["since"]))
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
                           json.dumps({"baseline": found.baseline, "since": found.since}))
    for a, b in set(before) - set(kept):
        store.set_meta(f"{_PREFIX}{a}|{b}", "")
    return replace(analysis, seams=seams)

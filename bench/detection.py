"""Detection quality on synthetic bursty organisations, over a seed range.

    python bench/detection.py [--generator bursty|network] [--seeds scoring|tuning|FIRST-LAST]
                              [--people 1000] [--weeks 40] [--placebo 4] [--rules FILE]
                              [--ramp-weeks 8] [--settled 0 | --follow 0] [--drop 0.6]
                              [--planting side|whole] [--thinning all|mail] [--departments N]

Two generators, written apart: ``bursty`` (tests/quality/bursty.py: a seam's
noise comes mostly from multi-week cross-department projects) and
``network`` (tests/quality/network.py: stable personal networks, lognormal
threads, project series, leave). For every seed: one organisation with 4
seams falling 60 % along an 8-week ramp and one "same people, fewer
messages" seam, the same organisation with
nothing planted, and a week-shuffle placebo of both (``--planting whole``:
the falling seams' threads and meetings are dropped, not left without one
side, a way of drifting neither generator plants by default; ``--thinning mail``:
the "fewer messages" seam's mail thins but its meetings go on; ``--departments``:
the same number of people in more or fewer departments). Prints recall,
precision, how many planted ramps lie beyond the null organisations'
p-values at all (what any calibration of these statistics could find),
false flags per null organisation, the placebo's share of tests with
p < 0.05 and its flags per run.

Two seed ranges, kept apart on purpose: detector settings were chosen by
looking at TUNING seeds only; SCORING seeds are the figures we report and
were never used to choose anything. Do not tune on them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# settings were chosen looking at these only: bursty 101-125, network 201-230
TUNING_SEEDS = {"bursty": range(101, 126), "network": range(201, 231)}
SCORING_SEEDS = range(1, 11)  # reported, never tuned on, for either generator


def seed_range(text: str, generator: str) -> range:
    if text == "tuning":
        return TUNING_SEEDS[generator]
    if text == "scoring":
        return SCORING_SEEDS
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", default="bursty", choices=("bursty", "network"))
    parser.add_argument("--seeds", default="scoring", help="scoring, tuning or FIRST-LAST")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=40)
    parser.add_argument("--placebo", type=int, default=4, help="shuffles per organisation")
    parser.add_argument("--ramp-weeks", type=int, default=8, help="weeks a planted fall takes")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--settled", type=int, default=0,
                      help="weeks more that a planted fall has held its full drop")
    when.add_argument("--follow", type=int, default=0, metavar="WEEKS",
                      help="analyse every week for WEEKS more weeks, as the daemon would")
    parser.add_argument("--drop", type=float, default=0.6, help="how far a planted seam falls")
    parser.add_argument("--planting", default="side", choices=("side", "whole"),
                        help="how a planted fall removes contact: one side leaves the seam's "
                        "threads and meetings (side), or they are not held at all (whole)")
    parser.add_argument("--thinning", default="all", choices=("all", "mail"),
                        help="what the \"same people, fewer messages\" seam loses: messages and "
                        "meeting attendance (all), or messages alone (mail)")
    parser.add_argument("--departments", type=int,
                        help="how many departments (default: the generator's own, bursty 10, "
                        "network 9); fewer keeps its largest, more adds departments of 4 %%")
    parser.add_argument("--rules", type=Path, help="a rules file (default: the default rules)")
    parser.add_argument("--verbose", action="store_true", help="print every planted seam")
    args = parser.parse_args()

    from rules.loader import load_rules
    from rules.model import Rules
    from tests.quality.scoring import Follow, Score, follow_seed, score_seed

    rules = load_rules(args.rules) if args.rules else Rules()
    seeds = seed_range(args.seeds, args.generator)
    score = Score()
    started = time.perf_counter()
    if args.follow:
        follow = Follow(args.follow)
        for seed in seeds:
            follow_seed(follow, seed, rules, people=args.people, weeks=args.weeks,
                        drop=args.drop, ramp_weeks=args.ramp_weeks, generator=args.generator,
                        planting=args.planting, departments=args.departments,
                        thin_meetings=args.thinning == "all")
            print(f"seed {seed}: {follow.lines()[-1]}", flush=True)
        print(f"\n{args.generator}, {args.seeds} seeds {seeds.start}-{seeds.stop - 1}, "
              f"analysed weekly for {args.follow} weeks after the snapshot, "
              f"{time.perf_counter() - started:.0f} s")
        for line in follow.lines():
            print("  " + line)
        return
    for seed in seeds:
        run = score_seed(score, seed, rules, people=args.people, weeks=args.weeks,
                         placebo=args.placebo, drop=args.drop, ramp_weeks=args.ramp_weeks,
                         settled=args.settled, planting=args.planting,
                         departments=args.departments, generator=args.generator,
                         thin_meetings=args.thinning == "all")
        planted, results = run.planted, run.results
        flagged = sorted(" / ".join(r.departments) for r in results if r.drifting)
        generating, counting, detecting = run.seconds
        print(f"seed {seed}: {len(planted.mails):,} mails, {len(planted.meetings):,} meetings; "
              f"flagged {', '.join(flagged) or 'nothing'} "
              f"[generate {generating:.1f} s, ledger {counting:.1f} s, detect {detecting:.1f} s]")
        if args.verbose:
            by_pair = {frozenset(r.departments): r for r in results}
            for pair in planted.truth.declining + planted.truth.thinning:
                r = by_pair.get(frozenset(pair))
                kind = "thin" if pair in planted.truth.thinning else "ramp"
                print(f"    {kind} {' / '.join(pair)}: " + (r.reason if r else "not judged"))
    print(f"\n{args.generator}, {args.seeds} seeds {seeds.start}-{seeds.stop - 1}, {args.people} people, "
          f"{args.weeks} weeks, {args.settled} weeks settled, {args.planting} planting, "
          f"thinning {args.thinning}, "
          f"{args.departments or 'default'} departments, "
          f"{time.perf_counter() - started:.0f} s")
    for line in score.lines():
        print("  " + line)


if __name__ == "__main__":
    main()

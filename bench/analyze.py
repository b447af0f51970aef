"""Benchmark: ingest and analyse a large organisation from a data directory.

    python bench/analyze.py [--people 10000] [--weeks 52] [--out bench/out]

Writes (once, then reuses) a demo organisation as a data directory, then
measures in separate processes, each with its own peak memory:

1. bare pass: only parse every line of messages.jsonl and events.jsonl
   (json + datetime) — the floor no ingest can beat;
2. ingest: read the directory into the pseudonymised ledger;
3. analyse: drift, lapsed ties, trends, matching and slots;
4. one more week: append a week of mail and meetings, then sync and
   analyse again incrementally; then analyse that week a few more times,
   warm, and print their median (a detector change is compared by it: one
   cold analysis moves by a fifth with the machine's other load).

Targets (issue 3): ingest + analyse ≤ 30 s and ≤ 1 GiB peak, within 5× of
the bare pass; one more week ≤ 3 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = b"benchmark-key-0123456789abcdef"
WARM_REPEATS = 7  # analyses after the timed one, in the same process


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_peak_mib() -> float:
    """The largest peak of any finished child process (the parallel sync's readers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_runner, args=(queue, target, args))
    process.start()
    result = queue.get()
    process.join()
    if "error" in result:
        raise SystemExit(result["error"])
    return result


def _runner(queue: Any, target: Any, args: tuple[Any, ...]) -> None:
    try:
        queue.put(target(*args))
    except BaseException as exc:  # report, do not hang the parent
        import traceback

        queue.put({"error": "".join(traceback.format_exception(exc))})


def bare_pass(data: str, parser: str = "orjson") -> dict[str, Any]:
    """Parse every line (orjson: the parser ingest uses; json: the standard library), nothing more."""
    import orjson

    loads = orjson.loads if parser == "orjson" else json.loads
    start = time.perf_counter()
    lines = 0
    for name in ("messages.jsonl", "events.jsonl"):
        with open(Path(data) / name, "rb") as handle:
            for raw in handle:
                record = loads(raw)
                dt.datetime.fromisoformat(record.get("date") or record["start"])
                lines += 1
    return {"seconds": time.perf_counter() - start, "lines": lines, "peak_mib": peak_mib()}


def _engine_parts(data: str, state: str) -> tuple[Any, ...]:
    from agent import pipeline
    from agent.ledger import LedgerFiles
    from agent.pseudonym import Pseudonymiser
    from agent.store import TinyStore
    from connectors.registry import FilesSettings, build_connectors
    from rules.model import Rules

    rules = Rules()
    pseudo = Pseudonymiser(KEY)
    connectors = build_connectors(FilesSettings(type="files", path=Path(data),
                                                outbox=Path(state) / "outbox"))
    org = pipeline.load_org(connectors.directory.people(), pseudo)
    ledger = LedgerFiles(Path(state) / "ledger", pseudo, rules.signals)
    store = TinyStore(Path(state) / "store")
    return pipeline, rules, connectors, org, ledger, store


class TreeMemory:
    """Samples the proportional set size (PSS) of this process and its children.

    PSS splits pages shared after a fork among the processes sharing them, so
    the sum is the real memory the process tree holds at that moment.
    """

    def __init__(self) -> None:
        import threading

        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import os

        while not self._stop.wait(0.1):
            pids = [os.getpid(), *_children(os.getpid())]
            self.peak_mib = max(self.peak_mib, sum(_pss_kib(p) for p in pids) / 1024)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def ingest_and_analyse(data: str, state: str, as_of: str) -> dict[str, Any]:
    with TreeMemory() as memory:
        result = _ingest_and_analyse(data, state, as_of)
    result["tree_peak_mib"] = memory.peak_mib
    return result


def _ingest_and_analyse(data: str, state: str, as_of: str) -> dict[str, Any]:
    _import_everything()
    t0 = time.perf_counter()
    pipeline, rules, connectors, org, ledger, store = _engine_parts(data, state)
    now = dt.datetime.combine(dt.date.fromisoformat(as_of), dt.time(), tzinfo=dt.UTC)
    # The memory sampler is a second thread, so the automatic choice would stay
    # sequential; say what a single-threaded `bridgework` command would do.
    report = pipeline.sync(connectors, ledger, store, org, now, parallel=True)
    t1 = time.perf_counter()
    analysis = pipeline.analyze(ledger, org, rules, now.date())
    excluded = pipeline.exclusions(org, rules, set())
    plans = pipeline.plan(analysis, org, rules, pipeline.History(), excluded,
                          connectors.calendar.busy, now)
    t2 = time.perf_counter()
    return {
        "ingest_seconds": t1 - t0, "analyse_seconds": t2 - t1, "peak_mib": peak_mib(),
        "worker_peak_mib": worker_peak_mib(),
        "read": report.stats.read, "counted": report.stats.counted,
        "drifting": [list(d) for d in analysis.drifting], "suggestions": len(plans),
        "pairs": len(analysis.seams), "ledger_mib": _size_mib(Path(state) / "ledger"),
    }


def _size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _import_everything() -> None:
    """Load the modules first: interpreter start-up is not ingest (the bare pass's clock
    also starts after its imports)."""
    import scipy.stats  # noqa: F401

    import agent.drift
    import agent.dryrun  # noqa: F401
    import connectors.files.calendar
    import connectors.files.mail
    import connectors.files.people  # noqa: F401


def one_more_week(data: str, state: str, as_of: str) -> dict[str, Any]:
    _import_everything()
    t0 = time.perf_counter()
    pipeline, rules, connectors, org, ledger, store = _engine_parts(data, state)
    now = dt.datetime.combine(dt.date.fromisoformat(as_of), dt.time(), tzinfo=dt.UTC)
    t1 = time.perf_counter()
    report = pipeline.sync(connectors, ledger, store, org, now)
    t2 = time.perf_counter()
    analysis = pipeline.analyze(ledger, org, rules, now.date())
    t3 = time.perf_counter()
    # one analysis is at the mercy of the machine's other load; the median of a few warm
    # ones is the figure to compare a change of the detector by
    warm = []
    for _ in range(WARM_REPEATS):
        start = time.perf_counter()
        pipeline.analyze(ledger, org, rules, now.date())
        warm.append(time.perf_counter() - start)
    return {"setup": t1 - t0, "sync": t2 - t1, "analyse": t3 - t2, "read": report.stats.read,
            "new": report.new, "drifting": len(analysis.drifting), "peak_mib": peak_mib(),
            "warm": statistics.median(warm), "warm_spread": (min(warm), max(warm))}


def append_week(data: Path, as_of: dt.date) -> int:
    """Copy the last full week's lines, a week later, with new ids."""
    first = as_of - dt.timedelta(days=7)
    added = 0
    for name, key in (("messages.jsonl", "date"), ("events.jsonl", "start")):
        path = data / name
        fresh = []
        with open(path, "rb") as handle:
            for raw in handle:
                record = json.loads(raw)
                when = dt.datetime.fromisoformat(record[key])
                if record.get("rrule") or not (first <= when.date() < as_of):
                    continue
                shift = dt.timedelta(days=7)
                record["id"] = f"{record['id']}+1w"
                record[key] = (when + shift).isoformat()
                if "end" in record:
                    record["end"] = (dt.datetime.fromisoformat(record["end"]) + shift).isoformat()
                fresh.append(json.dumps(record))
        with open(path, "a") as handle:
            handle.write("\n".join(fresh) + "\n")
        added += len(fresh)
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()

    from connectors.demo import generate

    data = args.out / f"org-{args.people}x{args.weeks}"
    state = args.out / "state"
    as_of = dt.date(2026, 11, 23)
    sizes_file = data / "sizes.json"
    if not sizes_file.exists():
        shutil.rmtree(data, ignore_errors=True)
        t = time.perf_counter()
        generate(data, people=args.people, weeks=args.weeks, seed=args.seed, as_of=as_of)
        print(f"generated {data} in {time.perf_counter() - t:.1f} s")
        sizes_file.write_text(json.dumps({p.name: p.stat().st_size for p in data.glob("*.jsonl")}))
    for name, size in json.loads(sizes_file.read_text()).items():
        with open(data / name, "r+b") as handle:  # drop a week appended by an earlier run
            handle.truncate(size)
    shutil.rmtree(state, ignore_errors=True)
    sizes = {p.name: p.stat().st_size / 2**20 for p in data.glob("*.jsonl")}
    print("data: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in sizes.items()))

    bare = _in_child(bare_pass, str(data))
    stdlib = _in_child(bare_pass, str(data), "json")
    print(f"bare pass:   {bare['seconds']:6.1f} s  {bare['lines']:,} lines with orjson (what ingest uses), "
          f"{stdlib['seconds']:.1f} s with the standard json module")
    full = _in_child(ingest_and_analyse, str(data), str(state), as_of.isoformat())
    total = full["ingest_seconds"] + full["analyse_seconds"]
    print(f"ingest:      {full['ingest_seconds']:6.1f} s  {full['read']:,} interactions read, "
          f"{full['counted']:,} counted; ledger {full['ledger_mib']:.0f} MiB on disk")
    print(f"analyse:     {full['analyse_seconds']:6.1f} s  {full['pairs']} department pairs, "
          f"{len(full['drifting'])} drifting, {full['suggestions']} suggestions")
    print(f"ingest+analyse: {total:.1f} s (target ≤ 30), {total / bare['seconds']:.1f}× the orjson "
          f"bare pass and {total / stdlib['seconds']:.1f}× the json one (target ≤ 5)")
    print(f"memory: {full['tree_peak_mib']:.0f} MiB at most for the main process and its reader "
          f"processes together (PSS, target ≤ 1024); main process peak RSS {full['peak_mib']:.0f} MiB, "
          f"largest reader {full['worker_peak_mib']:.0f} MiB")
    added = append_week(data, as_of)
    later = as_of + dt.timedelta(days=7)
    week = _in_child(one_more_week, str(data), str(state), later.isoformat())
    week_total = week["sync"] + week["analyse"]
    print(f"one more week: {added:,} appended lines; sync {week['sync']:.2f} s ({week['read']:,} read, "
          f"{week['new']:,} new) + analyse {week['analyse']:.2f} s = {week_total:.2f} s (target ≤ 3); "
          f"start-up (directory, store) {week['setup']:.2f} s; peak {week['peak_mib']:.0f} MiB")
    low, high = week["warm_spread"]
    print(f"warm analyse:  {week['warm']:.2f} s median of {WARM_REPEATS} ({low:.2f}-{high:.2f} s), "
          "the steadier figure to compare detector changes by")
    ok = (total <= 30 and full["tree_peak_mib"] <= 1024 and total <= 5 * bare["seconds"]
          and week_total <= 3)
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()

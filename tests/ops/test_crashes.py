"""The real daemon, killed outright at 20 points of a cycle and restarted, ends with the same
holds and digests as a run never killed; SIGTERM mid-cycle exits 0 quickly with state intact."""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agent.config import load_config
from agent.doctor import check
from tests.ops.daemon import KEY, World, make_data, make_world, outcome, run_to_idle, start, stop

KILLS = 20


@pytest.fixture(scope="module")
def fast_root() -> Iterator[Path]:
    """A folder on tmpfs when there is one: the daemon fsyncs every write."""
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    folder = Path(tempfile.mkdtemp(prefix="bridgework-ops-", dir=base))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def reference(fast_root: Path) -> tuple[World, list[str]]:
    data = make_data(fast_root)
    world = make_world(fast_root / "reference", data)
    trace = fast_root / "reference-writes"
    assert run_to_idle(world, BW_TEST_TRACE=str(trace)) == 0
    holds, digests = outcome(world)
    assert holds and digests, world.log.read_text()  # the cycle places holds and sends digests
    return world, trace.read_text().split()


def _phase(writes: list[str], at: int) -> str:
    """The step a kill at write ``at`` interrupts: named by the next write that is not state.json."""
    for name in writes[at - 1:]:
        if name.endswith(".eml"):
            return "digests"
        if name == "holds.ics":
            return "suggest/place"
        if name.startswith("week-") or name in ("people.json", "pending.json", "meta.json"):
            return "sync"
    return "end of cycle"


def _kill_points(writes: list[str]) -> list[int]:
    """20 random writes to die at, spread over the steps: 5 in sync, 5 in planning and
    placing, 8 among the digests, 2 anywhere (a fixed seed: the same points every run)."""
    rng = random.Random(16)
    by_phase: dict[str, list[int]] = {}
    for at in range(1, len(writes) + 1):
        by_phase.setdefault(_phase(writes, at), []).append(at)
    chosen: set[int] = set()
    for phase, count in (("sync", 5), ("suggest/place", 5), ("digests", 8)):
        chosen.update(rng.sample(by_phase[phase], count))
    rest = [at for at in range(1, len(writes) + 1) if at not in chosen]
    chosen.update(rng.sample(rest, KILLS - len(chosen)))
    return sorted(chosen)


def test_killed_at_20_points_then_restarted_ends_as_a_run_never_killed(
        reference: tuple[World, list[str]], fast_root: Path) -> None:
    world, writes = reference
    expected = outcome(world)
    points = _kill_points(writes)

    def one(index: int, at: int) -> tuple[int, str, bool, str]:
        when = "before" if index % 2 else "after"
        w = make_world(fast_root / f"kill-{index:02d}", world.data)
        killed = start(w, BW_TEST_KILL_AT=str(at), BW_TEST_KILL_WHEN=when)
        code = killed.wait(60)
        assert code == -9, f"kill {index} at write {at}: exit {code}\n{w.log.read_text()}"
        assert run_to_idle(w) == 0, w.log.read_text()
        same = outcome(w) == expected
        return at, when, same, w.log.read_text()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda args: one(*args), enumerate(points)))
    took = time.monotonic() - started
    phases = Counter(_phase(writes, at) for at in points)
    print(f"\n{KILLS} kills at writes {points} of {len(writes)} ({dict(phases)}), "
          f"{sum(r[2] for r in results)}/{KILLS} equal to the run never killed, {took:.0f} s")
    differing = [f"write {at} ({when} {writes[at - 1]})" for at, when, same, _ in results if not same]
    assert not differing, differing
    assert {"sync", "suggest/place", "digests"} <= set(phases)


def test_sigterm_during_a_cycle_exits_0_within_10_s_with_state_intact(
        reference: tuple[World, list[str]], fast_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGEWORK_SECRET_KEY", KEY)  # doctor looks at the key the daemon used
    world, _ = reference
    w = make_world(fast_root / "sigterm", world.data, health_port=0)
    paused = w.root / "paused"
    process = start(w, BW_TEST_PAUSE_AT="2", BW_TEST_PAUSED=str(paused))  # the job's 2nd write
    deadline = time.monotonic() + 60
    while not paused.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert paused.exists(), "the startup cycle never reached its second write"
    assert "scheduled:" not in w.log.read_text(), "the cycle ended before the signal"
    asked = time.monotonic()
    code = stop(process, timeout=10)
    took = time.monotonic() - asked
    print(f"\nSIGTERM during the cycle: exit {code} after {took:.1f} s")
    assert code == 0 and took < 10, w.log.read_text()
    assert "SIGTERM received" in w.log.read_text() and "Traceback" not in w.log.read_text()
    result = check(load_config(w.config))
    assert result.healthy, [f.problem for f in result.findings]
    # and the next start finishes the work as if nothing had happened
    assert run_to_idle(w) == 0
    assert outcome(w) == outcome(world)

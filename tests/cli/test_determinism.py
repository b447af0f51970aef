"""Point 4: the same input gives byte-identical `analyze --json`, whatever the hash seed.

Each run is its own interpreter with its own PYTHONHASHSEED (set and dict order of
strings change with it), reading the data in parallel workers as the command does,
on a clock frozen at the as-of day (slots are looked for from "now").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

from connectors.demo import generate
from tests.cli.conftest import ROOT

AS_OF = dt.date(2024, 6, 3)
_RUN = """\
import datetime as dt, sys, time_machine
with time_machine.travel(dt.datetime(2024, 6, 3, 9, tzinfo=dt.UTC), tick=False):
    from agent.cli import main
    main(sys.argv[1:], prog_name="bridgework")
"""


def _analyze(data: Path, seed: str) -> bytes:
    done = subprocess.run([sys.executable, "-c", _RUN, "analyze", "--data", str(data), "--json"],
                          env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                               "TZ": "Pacific/Auckland"},
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_analyze_json_is_the_same_bytes_under_any_hash_seed(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    generate(data, people=200, weeks=40, seed=1, as_of=AS_OF)
    outputs = {seed: _analyze(data, seed) for seed in ("1", "2", "3")}
    digests = {seed: hashlib.sha256(out).hexdigest() for seed, out in outputs.items()}
    assert len(set(digests.values())) == 1, digests
    assert b'"suggestions": [' in outputs["1"] and b'"start": "2024-06-0' in outputs["1"]

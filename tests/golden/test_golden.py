"""Golden tests: `bridgework rules explain` on small organisations, compared line for line.

Each case directory holds ``rules.yaml``, a ``data`` directory (written by
``python -m tests.golden.make_data``), optionally ``history.jsonl`` (earlier
suggestions), and ``expected.txt``. To accept new output after a deliberate
change, run with ``BRIDGEWORK_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner

from agent.cli import main

HERE = Path(__file__).resolve().parent
CASES = sorted(p for p in HERE.iterdir() if (p / "rules.yaml").is_file())
AS_OF = "2024-06-03"
UPDATE = os.environ.get("BRIDGEWORK_UPDATE_GOLDEN") == "1"


def explain(case: Path) -> str:
    args = ["rules", "explain", "rules.yaml", "--data", "data", "--as-of", AS_OF]
    if (case / "history.jsonl").is_file():
        args += ["--history", "history.jsonl"]
    cwd = Path.cwd()
    os.chdir(case)  # so the output names files relatively, the same on every machine
    try:
        # today is the as-of day: slots are never offered in the past, so the cases' slots
        # stand still only on a clock that does
        with time_machine.travel(dt.datetime.fromisoformat(AS_OF).replace(tzinfo=dt.UTC),
                                 tick=False):
            result = CliRunner().invoke(main, args)
    finally:
        os.chdir(cwd)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output
    return result.output


def test_enough_cases() -> None:
    assert len(CASES) >= 12


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_explain_matches_golden(case: Path) -> None:
    output = explain(case)
    expected = case / "expected.txt"
    if UPDATE or not expected.exists():
        expected.write_text(output, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"wrote {expected}; review it and run again")
    assert output == expected.read_text(encoding="utf-8")

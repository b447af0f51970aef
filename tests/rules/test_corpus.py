"""Every broken rules file gives located, readable errors through the CLI, fast.

Each file in tests/rules_corpus carries ``# expect: LINE:COLUMN: fragment``
comments; the check command must exit 2 and print each expected problem at
that place, never a traceback, in under a second.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main

CORPUS = Path(__file__).resolve().parent.parent / "rules_corpus"
DATA = CORPUS / "data"
FILES = sorted(CORPUS.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.+)$", re.M)


def run_check(path: Path) -> tuple[int, str, float]:
    runner = CliRunner()
    started = time.perf_counter()
    result = runner.invoke(main, ["rules", "check", str(path), "--data", str(DATA)])
    elapsed = time.perf_counter() - started
    if result.exception and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{path.name} raised {result.exception!r}")
    return result.exit_code, result.output, elapsed


def test_corpus_is_big_enough() -> None:
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_broken_file_is_located(path: Path) -> None:
    expected = EXPECT.findall(path.read_text(encoding="utf-8"))
    assert expected, f"{path.name} has no '# expect:' comment"
    code, output, elapsed = run_check(path)
    assert code == 2, output
    assert "Traceback" not in output
    assert elapsed < 1.0, f"{path.name} took {elapsed:.2f}s"
    lines = output.splitlines()
    for line, column, fragment in expected:
        prefix = f"{path}:{line}:{column}: "
        hits = [item for item in lines if item.startswith(prefix)]
        assert any(fragment in hit for hit in hits), (
            f"expected {prefix}...{fragment}... in:\n{output}"
        )


def test_five_megabyte_file_refused_fast(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    line = "# " + "x" * 98 + "\n"
    big.write_text("seams:\n  drop: 0.2\n" + line * 50_000, encoding="utf-8")
    assert big.stat().st_size > 5_000_000
    code, output, elapsed = run_check(big)
    assert code == 2 and "Traceback" not in output
    assert f"{big}:1:1: file is 5.1 MB; the limit is 1000 kB" in output
    assert elapsed < 1.0


def test_just_under_the_limit_still_fast(tmp_path: Path) -> None:
    """A file near the size limit with tens of thousands of values is judged in time."""
    path = tmp_path / "long.yaml"
    items = "".join(f"    - person{i}@example.com\n" for i in range(33_000))
    path.write_text("participants:\n  exclude_people:\n" + items + "  managers_only: maybe\n")
    assert 900_000 < path.stat().st_size < 1_000_000
    code, output, elapsed = run_check(path)
    assert code == 2, output
    assert f"{path}:33003:18: participants.managers_only: should be a valid boolean" in output
    assert elapsed < 1.0, f"took {elapsed:.2f}s"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("seams:\n  ignore_departments: [Stra\u00dfenbau]\n".encode("latin-1"))
    code, output, _ = run_check(path)
    assert code == 2 and f"{path}:1:1: not UTF-8 text" in output


def test_deep_nesting(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("seams: " + "[" * 60 + "]" * 60 + "\n")
    code, output, elapsed = run_check(path)
    assert code == 2 and "nesting is too deep" in output and elapsed < 1.0


def test_missing_file(tmp_path: Path) -> None:
    code, output, _ = run_check(tmp_path / "absent.yaml")
    assert code == 2 and "cannot read: No such file or directory" in output


def test_real_process_exit_code_and_no_traceback() -> None:
    """The installed entry point, as an admin runs it, on the bomb."""
    bomb = CORPUS / "billion_laughs.yaml"
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("bridgework")), "rules", "check", str(bomb)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert f"{bomb}:" in done.stderr and "YAML bomb" in done.stderr
    assert time.perf_counter() - started < 10

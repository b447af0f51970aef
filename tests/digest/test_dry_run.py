"""A first ``run --once`` mails nobody off the configured day and says so; ``--dry-run``
runs the whole cycle and writes nothing anywhere."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from click.testing import CliRunner

from agent.cli import main
from connectors.demo import generate


def _tree(*roots: Path) -> dict[str, str]:
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


def _config(tmp: Path, day: str) -> Path:
    generate(tmp / "data", people=40, weeks=16, seed=4, as_of=dt.datetime.now(dt.UTC).date())
    (tmp / "key").write_text("k" * 32)
    (tmp / "rules.yaml").write_text(f"meetings:\n  mode: invite\ndigests:\n  day: {day}\n"
                                    "  admins: [admin@demo.example]\n")
    config = tmp / "config.yaml"
    config.write_text(f"source:\n  type: files\n  path: {tmp / 'data'}\n"
                      f"store:\n  path: {tmp / 'store'}\nsecret:\n  key_file: {tmp / 'key'}\n"
                      f"rules: {tmp / 'rules.yaml'}\n")
    return config


def _not_today() -> str:
    return ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
            "sunday")[(dt.datetime.now(dt.UTC).weekday() + 3) % 7]


def test_a_first_run_off_the_digest_day_sends_nothing_and_says_so(tmp_path: Path) -> None:
    config = _config(tmp_path, _not_today())
    result = CliRunner().invoke(main, ["run", "--once", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "digests sent: 0" in result.output
    assert f"digests go out on {_not_today().capitalize()}s" in result.output
    assert not (tmp_path / "data" / "outbox" / "digests").exists()


def test_dry_run_runs_a_whole_cycle_and_writes_nothing(tmp_path: Path) -> None:
    today = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
             "sunday")[dt.datetime.now(dt.UTC).weekday()]
    config = _config(tmp_path, today)
    (tmp_path / "rules.yaml").write_text((tmp_path / "rules.yaml").read_text() + "  time: '00:00'\n"
                                         "  timezone: UTC\n")
    before = _tree(tmp_path)
    result = CliRunner().invoke(main, ["run", "--once", "--dry-run", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert _tree(tmp_path) == before  # no store, no ledger, no outbox, no key file
    line = next(x for x in result.output.splitlines() if x.startswith("dry run:"))
    placed, digests = (int(w) for w in line.replace("(", " ").split() if w.isdigit())
    assert placed > 0 and digests > 3  # the cycle did decide things; it only kept them to itself
    # The real run then does what the dry run said.
    real = CliRunner().invoke(main, ["run", "--once", "--config", str(config)])
    assert real.exit_code == 0, real.output
    assert f"digests sent: {digests}" in real.output

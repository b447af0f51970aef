"""A ledger as schema 3 wrote it, made from one of today's: the week files without their mail
weights and schema 3 in ``meta.json`` (what an organisation upgrading from it has on disk)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def as_schema_3(ledger: Path) -> None:
    for path in ledger.glob("week-*.npz"):
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files if k != "mail"}
        np.savez(path.with_suffix(""), **arrays)
    meta = json.loads((ledger / "meta.json").read_text())
    (ledger / "meta.json").write_text(json.dumps({**meta, "schema": 3}))

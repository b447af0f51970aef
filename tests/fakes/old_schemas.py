"""A ledger as an older schema wrote it, made from one of today's (what an organisation
upgrading from it has on disk): schema 3's week files have neither mail weights nor
conversations, schema 4's no conversations; ``meta.json`` names the schema."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: the week-file arrays each schema lacks against today's
LACKS = {3: ("mail", "conversations"), 4: ("conversations",)}


def as_schema(ledger: Path, schema: int) -> None:
    for path in ledger.glob("week-*.npz"):
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files if k not in LACKS[schema]}
        np.savez(path.with_suffix(""), **arrays)
    meta = json.loads((ledger / "meta.json").read_text())
    (ledger / "meta.json").write_text(json.dumps({**meta, "schema": schema}))


def as_schema_3(ledger: Path) -> None:
    as_schema(ledger, 3)

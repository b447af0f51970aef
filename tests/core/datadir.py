"""Write a synthetic organisation as a data directory (the files connector's format)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.core.synth import Synth


def write_datadir(synth: Synth, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "people.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "department", "title", "level", "manager", "timezone"])
        for p in synth.people:
            writer.writerow([p.email, p.name, p.department, p.title, p.level, p.manager or "", p.timezone])
    with open(root / "events.jsonl", "w") as handle:
        for m in synth.meetings:
            handle.write(json.dumps({
                "id": m.id, "start": m.start.isoformat(), "end": (m.start + m.duration).isoformat(),
                "organizer": m.participants[0], "attendees": list(m.participants[1:]),
                "status": "cancelled" if m.cancelled else "confirmed",
                "summary": "Quarterly numbers (never stored)",
            }) + "\n")
    with open(root / "messages.jsonl", "w") as handle:
        for m in synth.messages:
            handle.write(json.dumps({
                "id": m.id, "date": m.start.isoformat(), "from": m.participants[0],
                "to": list(m.participants[1:]), "cc": [], "subject": "Merger talks (never stored)",
            }) + "\n")
    return root

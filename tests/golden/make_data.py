"""Writes the small organisation every golden case runs on: ``python -m tests.golden.make_data``.

Twelve people in four departments (three each; the level-3 person manages the
other two), Trading in New York and everyone else in London. Contact comes as
weekly recurring meetings, so the files stay a few kilobytes:

* each department meets internally every Tuesday at 10:00 London time;
* Legal and Trading met three times a week until 2024-04-17, then stopped
  (a lapsed seam with three lapsed ties, the analysis date being 2024-06-03);
* Research meets Trading and Legal every week throughout (steady seams);
* Facilities and Research had four weekly meetings, one of which stopped in
  April (a fall of about a quarter);
* nobody from Facilities meets Legal or Trading (too little contact to judge).

Every case directory gets a copy in ``<case>/data`` unless it already has
its own ``people.csv`` marked ``# own``.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = "2023-09-05"  # first Tuesday
UNTIL_LAPSE = "20240417T235959Z"

PEOPLE = [
    # email, name, department, title, level, manager, timezone
    ("ann@example.com", "Ann Archer", "Legal", "General Counsel", 3, "", "Europe/London"),
    ("alf@example.com", "Alf Abbot", "Legal", "Senior Counsel", 2, "ann@example.com", "Europe/London"),
    ("amy@example.com", "Amy Arden", "Legal", "Paralegal", 2, "ann@example.com", "Europe/London"),
    ("ben@example.com", "Ben Boyd", "Trading", "Head of Trading", 3, "", "America/New_York"),
    ("bea@example.com", "Bea Bell", "Trading", "Senior Trader", 2, "ben@example.com", "America/New_York"),
    ("bob@example.com", "Bob Brown", "Trading", "Trader", 2, "ben@example.com", "America/New_York"),
    ("cat@example.com", "Cat Chen", "Research", "Research Director", 3, "", "Europe/London"),
    ("cy@example.com", "Cy Cole", "Research", "Analyst", 2, "cat@example.com", "Europe/London"),
    ("col@example.com", "Col Cruz", "Research", "Intern Analyst", 2, "cat@example.com", "Europe/London"),
    ("dan@example.com", "Dan Diaz", "Facilities", "Facilities Manager", 3, "", "Europe/London"),
    ("dee@example.com", "Dee Dunn", "Facilities", "Coordinator", 2, "dan@example.com", "Europe/London"),
    ("dot@example.com", "Dot Drew", "Facilities", "Contractor", 2, "dan@example.com", "Europe/London"),
]


def _event(ident: str, day: str, hour: str, people: list[str], rule: str, zone: str) -> dict[str, object]:
    # Times carry the offset of their first occurrence; the series repeats in ``zone``.
    offset = "-04:00" if zone == "America/New_York" else "+01:00"
    start = f"{day}T{hour}:00{offset}"
    end_hour = f"{int(hour[:2]) + 1:02d}{hour[2:]}"
    return {"id": ident, "start": start, "end": f"{day}T{end_hour}:00{offset}",
            "organizer": people[0], "attendees": people[1:], "status": "confirmed",
            "rrule": rule, "timezone": zone}


def events() -> list[dict[str, object]]:
    weekly = "FREQ=WEEKLY;COUNT=48"
    lapse = f"FREQ=WEEKLY;UNTIL={UNTIL_LAPSE}"
    london, new_york = "Europe/London", "America/New_York"
    out = []
    for dept, members, zone in (
        ("legal", ["ann", "alf", "amy"], london),
        ("trading", ["ben", "bea", "bob"], new_york),
        ("research", ["cat", "cy", "col"], london),
        ("facilities", ["dan", "dee", "dot"], london),
    ):
        hour = "10:00" if zone == london else "05:00"
        out.append(_event(f"team-{dept}", START, hour, [f"{m}@example.com" for m in members],
                          weekly, zone))
    pairs = [
        ("lt-1", "2023-09-06", "14:00", ["ann", "ben"], lapse),
        ("lt-2", "2023-09-06", "15:00", ["alf", "bea"], lapse),
        ("lt-3", "2023-09-07", "14:00", ["amy", "bob"], lapse),
        ("rt-1", "2023-09-07", "15:00", ["cy", "bob"], weekly),
        ("lr-1", "2023-09-08", "11:00", ["col", "amy"], weekly),
        ("fr-1", "2023-09-08", "12:00", ["dee", "col"], weekly),
        ("fr-2", "2023-09-08", "13:00", ["dot", "cy"], weekly),
        ("fr-3", "2023-09-08", "14:00", ["dan", "cat"], weekly),
        ("fr-4", "2023-09-08", "15:00", ["dee", "cy"], lapse),
    ]
    for ident, day, hour, who, rule in pairs:
        out.append(_event(ident, day, hour, [f"{w}@example.com" for w in who], rule, london))
    # One late single event: recurring series are expanded up to a while after the
    # latest event in the file, so this makes them reach past the analysis date.
    late = _event("offsite", "2024-07-30", "09:00", [p[0] for p in PEOPLE], "", london)
    del late["rrule"], late["timezone"]
    out.append(late)
    return out


def write(data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    lines = ["email,name,department,title,level,manager,timezone"]
    lines += [",".join(str(v) for v in row) for row in PEOPLE]
    (data / "people.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = "".join(json.dumps(e, sort_keys=True) + "\n" for e in events())
    (data / "events.jsonl").write_text(text, encoding="utf-8")


def main() -> None:
    for case in sorted(p for p in HERE.iterdir() if (p / "rules.yaml").is_file()):
        people = case / "data" / "people.csv"
        if people.is_file() and people.read_text(encoding="utf-8").startswith("# own"):
            continue
        write(case / "data")
        print(f"wrote {case.name}/data")


if __name__ == "__main__":
    main()

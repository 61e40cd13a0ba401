#!/usr/bin/env python3
"""Check a twofold audit CSV export offline: every event's digest, and the links between
events (docs/audit-chain.md). Python's standard library only.

    python3 verify_audit_csv.py audit-log.csv [--allow-gaps]

Exit status 0: every digest holds and every event links to the one before it (a filtered
export has gaps: pass --allow-gaps to accept them); 1: something does not hold, named by
event ID; 2: the file is not an audit export.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys

GENESIS = "0" * 64
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Columns shown for people, compared with the event as hashed.
SHOWN = {"action": "action", "result": "result", "actor": "actor_label",
         "subject": "subject_label", "correlation ID": "correlation_id"}  # fmt: skip


def digest(previous: str, record: str) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + record.encode()).hexdigest()


def shown_as(value: object) -> str:
    """How the export writes a value: formula-like text is quoted with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def check(rows: list[dict[str, str]], allow_gaps: bool) -> list[str]:
    """The problems found, one line each (empty: the export holds)."""
    problems = []
    running: dict[object, str] = {}  # per chain: the digest of the event before
    for row in sorted(rows, key=lambda row: int(row["id"])):
        event_id, record = row["id"], json.loads(row["event"])
        chain = record.get("organisation_id") or 0
        for column, field in SHOWN.items():
            if row[column] != shown_as(record.get(field)):
                problems.append(f"event {event_id}: {column} differs from the hashed event")
        if not row["digest"]:  # written before the chain began: hashed from genesis
            running[chain] = digest(running.get(chain, GENESIS), row["event"])
            continue
        if digest(row["previous digest"], row["event"]) != row["digest"]:
            problems.append(f"event {event_id}: its digest does not match its content")
        before = running.get(chain)
        if before is not None and before != row["previous digest"] and not allow_gaps:
            problems.append(f"event {event_id}: does not follow the event before it")
        running[chain] = row["digest"]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", help="the CSV file the admin portal exported")
    parser.add_argument("--allow-gaps", action="store_true", help="a filtered export")
    args = parser.parse_args(argv)
    with open(args.export, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    if rows and not {"id", "event", "previous digest", "digest"} <= rows[0].keys():
        print("not a twofold audit export with digests", file=sys.stderr)  # noqa: T201
        return 2
    problems = check(rows, args.allow_gaps)
    for problem in problems:
        print(problem)  # noqa: T201
    print(f"{len(rows)} events, {'BROKEN' if problems else 'intact'}")  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

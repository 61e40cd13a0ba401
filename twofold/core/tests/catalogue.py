"""Reads the gettext catalogue and finds entries that are missing, fuzzy or whose
placeholders differ from their msgid (a small PO reader: no third-party library)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from twofold.core.tests.unmarked import PACKAGE

CATALOGUE = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
# %(name)s, %s, %d…, and {name} (str.format and the JavaScript convention); "%%" is a
# literal percent sign.
_PLACEHOLDER = re.compile(r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{\w*\}")


@dataclass
class Entry:
    msgid: str
    msgid_plural: str = ""
    msgctxt: str = ""
    msgstrs: tuple[str, ...] = ()
    fuzzy: bool = False
    obsolete: bool = False
    line: int = 0


def _po_string(line: str) -> str:
    return ast.literal_eval(line)  # a PO string is a C string: Python reads it the same


def read_po(path: Path) -> list[Entry]:
    """Every entry of a PO file (the header too: the entry whose msgid is "")."""
    entries: list[Entry] = []
    current: dict[str, str] = {}
    flags, field, start = "", "", 0

    def finish() -> None:
        if "msgid" in current:
            strs = tuple(v for k, v in sorted(current.items()) if k.startswith("msgstr"))
            entries.append(
                Entry(
                    msgid=current["msgid"],
                    msgid_plural=current.get("msgid_plural", ""),
                    msgctxt=current.get("msgctxt", ""),
                    msgstrs=strs,
                    fuzzy="fuzzy" in flags,
                    line=start,
                )
            )

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        keyword, _space, rest = line.partition(" ")
        starts_entry = line.startswith("#,") or keyword in {"msgctxt", "msgid"}
        if starts_entry and field.startswith("msgstr"):
            finish()  # a new entry begins after the last one's msgstr
            current, flags, field = {}, "", ""
        if line.startswith("#,"):
            flags = line
        elif line.startswith('"') and field:
            current[field] += _po_string(line)
        elif keyword.startswith(("msgid", "msgstr", "msgctxt")):
            start = start if field else number
            field = keyword
            current[field] = _po_string(rest)
    finish()
    return entries


def placeholders(text: str) -> list[str]:
    return sorted(_PLACEHOLDER.findall(text.replace("%%", "")))


def catalogue_problems(path: Path = CATALOGUE) -> list[str]:
    """Entries with no translation, a fuzzy one, or placeholders that differ from the msgid."""
    problems = []
    for entry in read_po(path):
        if not entry.msgid:
            continue  # the header
        where = f"{path.name}:{entry.line}: {entry.msgid[:60]!r}"
        if entry.fuzzy:
            problems.append(f"{where} is fuzzy")
        if not entry.msgstrs or not all(text.strip() for text in entry.msgstrs):
            problems.append(f"{where} has no translation")
            continue
        for text in entry.msgstrs:
            wanted = {tuple(placeholders(entry.msgid))}
            if entry.msgid_plural:
                # One Chinese form serves both: it may follow either English form.
                wanted.add(tuple(placeholders(entry.msgid_plural)))
            if tuple(placeholders(text)) not in wanted:
                problems.append(f"{where}: placeholders differ in {text!r}")
    return problems

"""The repository explains itself: code, comments, templates, tests and Markdown cite its
own docs/ folder, never a document outside the repository, and every numbered security
requirement they cite exists in docs/security.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.own_servers  # the suite's database plays no part: once

ROOT = Path(__file__).resolve().parents[1]
SECURITY = ROOT / "docs" / "security.md"

# Documents outside the repository: the shared folder beside it (by a relative or an
# absolute path) and the upper-case design, security and style notes kept there. Written
# so that these lines do not match themselves.
OUTSIDE = re.compile(r"(?:\.\./|/work/)shared\b|\b(?:SECURITY|DESIGN|STYLE)\.md\b")

# "docs/security.md 7", "docs/security.md item 3", "docs/security.md 5-9, 15, 21 and 22".
_NUMBER = r"\d+(?:\s*[-–]\s*\d+)?"
CITATION = re.compile(
    rf"docs/security\.md(?:\s+items?)?\s+({_NUMBER}(?:\s*(?:,|and)\s*{_NUMBER})*)"
)
ITEM = re.compile(r"^### (\d+)\. \S", re.MULTILINE)


def tracked_text_files() -> dict[str, str]:
    """Every file git tracks in this checkout that reads as UTF-8 text, by path."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    texts = {}
    for name in filter(None, listed.split("\0")):
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the working tree, not yet committed
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images, fonts
    return texts


def cited_numbers(text: str) -> list[int]:
    numbers = []
    for found in CITATION.finditer(text):
        for part in re.split(r"\s*(?:,|and)\s*", found.group(1)):
            first, _, last = re.sub(r"\s*[-–]\s*", "-", part).partition("-")
            numbers.extend(range(int(first), int(last or first) + 1))
    return numbers


def test_the_citation_reader_finds_single_numbers_lists_and_ranges() -> None:
    text = "(docs/security.md 2–4, 22 and 23) docs/security.md item 7; docs/security.md: x"
    assert cited_numbers(text) == [2, 3, 4, 22, 23, 7]


def test_the_outside_pattern_finds_each_kind_of_citation() -> None:
    # Put together at run time so that this file does not cite them itself.
    examples = [".." + "/shared/x", "/work" + "/shared"]
    examples += [f"see {name}.md 7" for name in ("SECURITY", "DESIGN", "STYLE")]
    assert all(OUTSIDE.search(example) for example in examples)
    assert not OUTSIDE.search("docs/security.md 7, docs/design.md, docs/style.md")


def test_no_tracked_file_cites_a_document_outside_the_repository() -> None:
    citing = [
        f"{name}:{number}: {line.strip()}"
        for name, text in tracked_text_files().items()
        for number, line in enumerate(text.splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert citing == [], "cite docs/ instead (scripts/cite-docs.sh):\n" + "\n".join(citing)


def test_the_security_requirements_are_numbered_from_one_without_gaps() -> None:
    # 1 to 35 were numbered before docs/ existed; new requirements take the next numbers.
    numbers = [int(number) for number in ITEM.findall(SECURITY.read_text(encoding="utf-8"))]
    assert numbers[:35] == list(range(1, 36))
    assert numbers == list(range(1, len(numbers) + 1))


def test_every_cited_security_requirement_exists() -> None:
    items = {int(number) for number in ITEM.findall(SECURITY.read_text(encoding="utf-8"))}
    missing = [
        f"{name}: docs/security.md {number}"
        for name, text in tracked_text_files().items()
        for number in cited_numbers(text)
        if number not in items
    ]
    assert missing == []

"""Finds JavaScript text shown to people that is not passed through ``t()``, and ``t()``
texts that lack an entry in their zh-Hans catalogue.

JavaScript (``twofold/**/static/**/*.js``): text shown to people goes through
``t("English text", {name: value})`` from ``twofold/web/static/twofold/i18n.js``; a
literal assigned (``=``, ``||=``, ``??=``, ``+=``) to ``textContent``/``innerText``/
``innerHTML``/``outerHTML``/``title``/``placeholder``/``ariaLabel``/``alt``/``value``/
``label``, or given to ``alert``/``confirm``/``prompt``/``createTextNode``/
``setAttribute`` for those attributes, is unmarked. Not only a lone literal: every
literal at the top level of the value counts (both branches of ``a ? "x" : "y"``, a
fallback ``a || "x"``, a piece joined with ``+``, a template literal's own words),
while literals inside calls, objects and indexes (``t("…")``, ``{hour: "2-digit"}``)
are left to the rules above, and one compared with ``===``/``!==`` is not shown.
Each ``t()`` text needs an entry in the nearest ``i18n/zh-hans.json`` at or above the
script's folder (inside ``static/``).

Each finding is ``path:line: text``, so a failing test says where to look.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from twofold.core.tests.unmarked import PACKAGE, is_words, skipped

# --- JavaScript -----------------------------------------------------------------------

_JS_STRING = r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)"""
# Where a value shown to people starts: each pattern ends where the value's expression
# begins, and _shown_literals reads that expression.
_JS_SHOWN = [
    re.compile(
        r"\.(?:textContent|innerText|innerHTML|outerHTML|title|placeholder|ariaLabel|alt|value"
        r"|label)\s*(?:\|\||\?\?|\+)?=(?![=>])\s*"
    ),
    re.compile(r"\b(?:alert|confirm|prompt|createTextNode)\(\s*"),
    re.compile(r"""\.setAttribute\(\s*["'](?:aria-label|title|placeholder|alt)["']\s*,\s*"""),
]
_JS_TOKEN = re.compile(_JS_STRING + r"|[([{]|[)\]}]|;|,|\n|[^\"'`()[\]{};,\n]+")
# A line break ends a statement unless the next line goes on with an operator.
_JS_GOES_ON = re.compile(r"\s*(?:\?|:|\|\||\?\?|&&|\+|\.)")
_JS_MARKED = re.compile(r"(?<![\w.$])t\(\s*" + _JS_STRING)
_JS_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class JsText:
    path: Path
    line: int
    text: str


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _line(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _js_files(root: Path) -> list[Path]:
    return sorted(path for path in root.glob("**/static/**/*.js") if not skipped(path))


def _compared(source: str, token: re.Match[str]) -> bool:
    """A literal compared with something (``a === "Web" ? …``) is not shown."""
    before = source[max(0, token.start() - 4) : token.start()].rstrip()
    after = source[token.end() : token.end() + 4].lstrip()
    return before.endswith(("==", "!=")) or after.startswith(("==", "!="))


def _shown_literals(source: str, start: int) -> Iterator[tuple[int, str]]:
    """The string literals at the top level of the expression that begins at ``start``.

    It ends at ``;``, at a ``,`` or closing bracket of the code around it, or at a line
    break that the next line does not go on from with an operator."""
    depth = 0
    for token in _JS_TOKEN.finditer(source, start):
        piece = token.group(0)
        if piece in "([{":
            depth += 1
        elif piece in ")]}":
            depth -= 1
            if depth < 0:
                return
        elif depth == 0 and token.group(1) and not _compared(source, token):
            yield token.start(), _unquote(piece)
        elif depth == 0 and (
            piece in {";", ","} or (piece == "\n" and not _JS_GOES_ON.match(source, token.end()))
        ):
            return


def unmarked_in_javascript(root: Path = PACKAGE) -> list[str]:
    findings = []
    for path in _js_files(root):
        source = _without_comments(path.read_text())
        for pattern in _JS_SHOWN:
            for match in pattern.finditer(source):
                for offset, text in _shown_literals(source, match.end()):
                    if is_words(re.sub(r"\$\{[^}]*\}", "", text)):
                        line = _line(source, offset)
                        findings.append(f"{path.relative_to(root.parent)}:{line}: {text!r}")
    return findings


def _without_comments(source: str) -> str:
    """Blank out // and /* */ comments (keeping line numbers); strings are left alone."""
    pattern = re.compile(_JS_STRING + r"|//[^\n]*|/\*.*?\*/", re.DOTALL)

    def blank(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith(("//", "/*")):
            return re.sub(r"[^\n]", " ", text)
        return text

    return pattern.sub(blank, source)


def marked_in_javascript(root: Path = PACKAGE) -> list[JsText]:
    found = []
    for path in _js_files(root):
        source = _without_comments(path.read_text())
        for match in _JS_MARKED.finditer(source):
            found.append(JsText(path, _line(source, match.start()), _unquote(match.group(1))))
    return found


def javascript_catalogue_for(script: Path, language: str) -> Path | None:
    """The nearest ``i18n/<language>.json`` at or above ``script``'s folder, inside static/."""
    folder = script.parent
    while folder.name and folder.name != "static":
        candidate = folder / "i18n" / f"{language}.json"
        if candidate.exists():
            return candidate
        folder = folder.parent
    return None


def javascript_catalogue_problems(language: str, root: Path = PACKAGE) -> list[str]:
    problems = []
    for found in marked_in_javascript(root):
        where = f"{found.path.relative_to(root.parent)}:{found.line}"
        catalogue_path = javascript_catalogue_for(found.path, language)
        if catalogue_path is None:
            problems.append(f"{where}: no i18n/{language}.json for {found.text!r}")
            continue
        catalogue = json.loads(catalogue_path.read_text())
        translated = catalogue.get(found.text)
        if not isinstance(translated, str) or not translated.strip():
            problems.append(f"{where}: {found.text!r} has no {language} entry")
        elif set(_JS_PLACEHOLDER.findall(translated)) != set(_JS_PLACEHOLDER.findall(found.text)):
            problems.append(f"{where}: {found.text!r} and its {language} entry differ in {{}}")
    return problems

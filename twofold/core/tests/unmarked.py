"""Finds user-facing text that is not marked for translation (JavaScript: ``unmarked_js.py``;
the gettext catalogue itself is checked by ``catalogue.py``).

Two kinds of source are read here:

* templates (``twofold/**/templates/**/*.html``): text between tags and the values of
  ``title``, ``placeholder``, ``alt``, ``aria-label`` and ``content`` attributes must come
  from ``{% translate %}``/``{% blocktranslate %}`` (or a variable);
* Python: string literals given as a form or model ``label``/``help_text``/``verbose_name``/
  ``placeholder``, as a ``summary``/``description`` keyword, as the message of an error
  raised to users, as a ``messages.*`` text, as ``add_error``'s text, as the label of a
  ``TextChoices`` member, as the body of an ``HttpResponse``/``JsonResponse`` (a sentence,
  not a token such as "ok"), or as the value of a ``"message"``/``"detail"``/
  ``"description"`` key in a dict literal (the JSON answers' text for people) must be
  wrapped in ``gettext``/``gettext_lazy``/``ngettext``/``gettext_noop`` (imported as ``_``
  or under their own names).
  Machine-facing text stays English, by these explicit rules rather than by accident:
  ``error_description`` (OAuth/OpenID Connect, for the client's developers; RFC 6749 §5.2
  allows only ASCII in it), the OpenAPI document's ``summary``/``description`` in
  ``api/`` (a contract; the docs page translates them at render time, pinned by
  ``api/tests/test_docs_language.py``), log lines, CSV column names (read by scripts and
  spreadsheets), and operators' tools (``_OPERATOR_ONLY``);
JavaScript is read by ``unmarked_js.py``.

Each finding is ``path:line: text``, so a failing test says where to look.
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

PACKAGE = Path(__file__).resolve().parents[2]  # twofold/

# Text that reads the same in every language: the product's name, punctuation, symbols.
NOT_WORDS = re.compile(r"\btwofold\b")
_ATTRIBUTES = {"title", "placeholder", "alt", "aria-label", "content"}
# A <meta> tag's content is read by people only for these names; the others (viewport,
# robots, theme-color, http-equiv refresh…) are settings for the browser.
_SHOWN_META = {
    "description",
    "application-name",
    "apple-mobile-web-app-title",
    *("og:title", "og:description", "og:site_name", "twitter:title", "twitter:description"),
}
# Literal code shown as code (commands, headers, token shapes) is not prose.
_CODE_TAGS = {"code", "kbd", "pre", "samp", "script", "style"}


def is_words(text: str) -> bool:
    """Prose: two letters in a row once placeholders and the product's name are gone."""
    text = NOT_WORDS.sub("", html.unescape(text).replace("\x00", " "))
    return bool(re.search(r"[A-Za-z]{2}", text))


def skipped(path: Path) -> bool:
    return any(part in {"tests", "migrations", "locale"} for part in path.parts)


# --- templates ------------------------------------------------------------------------


class _TextCollector(HTMLParser):
    """Plain text and translatable attribute values of one template's literal HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[str] = []
        self._code: list[str] = []  # open elements whose text is code, not prose

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag in _CODE_TAGS or "mono" in classes:
            self._code.append(tag)
        for name, value in attrs:
            if name == "content" and not _shown_meta(dict(attrs)):
                continue
            if name in _ATTRIBUTES and value and is_words(value):
                self.found.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._code and self._code[-1] == tag:
            self._code.pop()

    def handle_data(self, data: str) -> None:
        if not self._code and is_words(data):
            self.found.append(data.strip())


def _shown_meta(attrs: dict[str, str | None]) -> bool:
    return (attrs.get("name") or attrs.get("property") or "").lower() in _SHOWN_META


_CLOSERS = {"endblocktranslate", "endblocktrans", "endcomment"}


def _template_text(source: str) -> Iterator[tuple[int, str]]:
    """Literal HTML with every Django tag and variable blanked out, line by line."""
    depth = 0  # inside {% blocktranslate %} … {% endblocktranslate %} or {% comment %}
    in_class_block = False
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            words = token.contents.split()
            # {% block body_class %}card-page{% endblock %} names CSS classes, not prose.
            opens_class = words[:1] == ["block"] and words[-1].endswith("_class")
            if words[0] in {"blocktranslate", "blocktrans", "comment"} or opens_class:
                depth += 1
            elif words[0] in _CLOSERS or (words[0] == "endblock" and in_class_block):
                depth -= 1
            in_class_block = opens_class
        if token.token_type == TokenType.TEXT and depth == 0:
            yield token.lineno, token.contents
        elif token.token_type != TokenType.TEXT:
            yield token.lineno, "\x00"  # a value comes from code: not literal text


def unmarked_in_templates(root: Path = PACKAGE) -> list[str]:
    findings = []
    for path in sorted(root.glob("**/templates/**/*.html")):
        if skipped(path.relative_to(root)):
            continue
        parts = list(_template_text(path.read_text()))
        collector = _TextCollector()
        collector.feed("".join(text for _line, text in parts))
        collector.close()
        for text in collector.found:
            line = _line_of(parts, text)
            shown = text.replace("\x00", "…").strip()
            findings.append(f"{path.relative_to(root.parent)}:{line}: {shown!r}")
    return findings


def _line_of(parts: list[tuple[int, str]], text: str) -> int:
    """The line a finding starts on (its first literal piece, within its template token)."""
    piece = text.strip().split("\x00")[0] or text.strip()
    for line, chunk in parts:
        where = chunk.find(piece)
        if piece and where >= 0:
            return line + chunk.count("\n", 0, where)
    return 0


# --- Python ---------------------------------------------------------------------------

_MARKERS = {
    "_",
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "format_lazy",
    "gettext_noop",
}
_TEXT_KEYWORDS = {"label", "help_text", "verbose_name", "verbose_name_plural", "placeholder"}
# Errors whose message people read: Django's ValidationError and every TwofoldError
# (found by following class bases through the package). Errors for operators' logs
# (ValueError, GatewayError, ConfigurationError…) stay in English.
_USER_ERROR_ROOTS = {
    "ValidationError",
    *("TwofoldError", "InvalidInput", "NotAllowed", "NotFound", "RateLimited"),  # core/errors
}
# Operators' tools, not pages: the command line and the configuration reader.
_OPERATOR_ONLY = ("management", "config.py", "settings.py", "cli.py", "demo.py")
_MESSAGE_CALLS = {"success", "info", "error", "warning", "debug", "add_message"}
# Words people read in a summary or description (a management command's help is
# operator-only; the OpenAPI document's is a contract, see _OPENAPI).
_SHOWN_KEYWORDS = {"summary", "description"}
_OPENAPI = "api"  # the package whose summary=/description= build the OpenAPI document
_RESPONSES = {
    "HttpResponse",
    "JsonResponse",
    "StreamingHttpResponse",
    *("HttpResponseBadRequest", "HttpResponseForbidden", "HttpResponseNotFound"),
}
# Keys whose values JSON answers show people; "error" holds a code, and
# "error_description" is the OAuth protocol's (ASCII only, for developers): not checked.
_SHOWN_KEYS = {"message", "detail", "description"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _literal(node: ast.expr | None) -> str | None:
    """The text of a bare string literal (or f-string); None if it is anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value
            for part in node.values
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _literal(node.left)  # "…" % {...} is still unmarked
    return None


def user_error_names(trees: list[ast.Module]) -> set[str]:
    """ValidationError, TwofoldError and every class that derives from one of them."""
    bases: dict[str, set[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(_name(base) for base in node.bases)
    names = set(_USER_ERROR_ROOTS)
    grown = True
    while grown:
        found = {name for name, parents in bases.items() if parents & names}
        grown = bool(found - names)
        names |= found
    return names


class _PythonScanner(ast.NodeVisitor):
    def __init__(self, errors: set[str], openapi: bool = False) -> None:
        self.found: list[tuple[int, str]] = []
        self.errors = errors
        self.keywords = _TEXT_KEYWORDS if openapi else _TEXT_KEYWORDS | _SHOWN_KEYWORDS

    def _check(self, node: ast.expr | None) -> None:
        text = _literal(node)
        if text is not None and is_words(text) and node is not None:
            self.found.append((node.lineno, text))

    def _check_sentence(self, node: ast.expr | None) -> None:
        """A response body: words with a space between ("ok" or "text/csv" is a token)."""
        text = _literal(node)
        if text is not None and re.search(r"[A-Za-z]{2}\s+[A-Za-z]", text):
            self._check(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None and _literal(key) in _SHOWN_KEYS:
                self._check(value)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _name(node.func)
        if name not in _MARKERS:
            if name in _RESPONSES and node.args:
                self._check_sentence(node.args[0])
            for keyword in node.keywords:
                if keyword.arg in self.keywords:
                    self._check(keyword.value)
                if keyword.arg == "attrs" and isinstance(keyword.value, ast.Dict):
                    for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                        if _literal(key) in {"placeholder", "title", "aria-label"}:
                            self._check(value)
            if name in self.errors and node.args:
                self._check(node.args[0])
            if name in self.errors:
                for keyword in node.keywords:
                    if keyword.arg == "message":
                        self._check(keyword.value)
            if name in _MESSAGE_CALLS and _name(getattr(node.func, "value", node.func)) in {
                "messages"
            }:
                self._check(node.args[1] if len(node.args) > 1 else None)
            if name == "add_error" and len(node.args) > 1:
                self._check(node.args[1])
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if any(_name(base) in {"TextChoices", "IntegerChoices"} for base in node.bases):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Tuple):
                    elements = statement.value.elts
                    if len(elements) > 1:
                        self._check(elements[-1])
        if any(_name(base) in self.errors for base in node.bases):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and any(
                    _name(target) == "default_message" for target in statement.targets
                ):
                    self._check(statement.value)
        self.generic_visit(node)


def unmarked_in_python(root: Path = PACKAGE) -> list[str]:
    findings = []
    paths = [
        path
        for path in sorted(root.glob("**/*.py"))
        if not skipped(path.relative_to(root))
        and not any(part in _OPERATOR_ONLY for part in path.relative_to(root).parts)
    ]
    trees = {path: ast.parse(path.read_text(), filename=str(path)) for path in paths}
    errors = user_error_names(list(trees.values()))
    for path, tree in trees.items():
        scanner = _PythonScanner(errors, openapi=path.relative_to(root).parts[0] == _OPENAPI)
        scanner.visit(tree)
        findings.extend(
            f"{path.relative_to(root.parent)}:{line}: {text!r}" for line, text in scanner.found
        )
    return findings

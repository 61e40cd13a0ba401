"""Imports follow the layers of docs/design.md ("Packages and the direction of their
imports"): no package imports one above it, and no two modules import each other, not
even through an import hidden inside a function. Read from the source, not by importing
it, so that an import made only at call time counts too. Typing-only imports do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.own_servers  # the suite's database plays no part: once

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "twofold"

# docs/design.md's list, lowest first; everything else (signin, selfservice, adminportal,
# api, oidc, web, and the project's own urls, settings, wsgi, cli and demo) is above these.
LAYERS = {
    "core": 1,
    "config": 1,
    "configerrors": 1,
    "audit": 2,
    "organisations": 2,
    "accounts": 2,
    "delivery": 3,
    "methods": 4,
    "administration": 5,
}
TOP = 6

# Upward imports docs/design.md lists as not yet following the direction (to shrink).
KNOWN_UPWARD = {
    # The password pages hand over to the second step and to OpenID Connect.
    "twofold.accounts.views",
    # The demo's seeding command builds the whole demo (twofold/demo.py).
    "twofold.accounts.management.commands.seed_demo",
    # The policy's kinds come from the methods' catalogue (a function-level import).
    "twofold.organisations.models",
    # A passwordless sign-in completes through the second step (signin.services.finish,
    # signin.views' landing); its two administrators' views use the portal's gate.
    "twofold.methods.passkeys.views",
}
# Two modules that import each other, one of them at call time (docs/design.md).
KNOWN_CIRCLES: set[frozenset[str]] = set()


def modules() -> dict[str, Path]:
    """Every module of the application (not tests, not migrations), by dotted name."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if "tests" in parts or "migrations" in parts:
            continue
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = modules()


def _known(name: str) -> str | None:
    """The module ``name`` is, or is in (``from twofold.x import y``: y may be a name)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name if name and name != "twofold" else None


def _typing_only(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(name: str) -> dict[str, bool]:
    """The twofold modules ``name`` imports, each with whether only inside a function."""
    source = MODULES[name]
    package = name if source.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, bool] = {}

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _typing_only(child):
                continue
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*parent, *([base] if base else [])])
                targets = [f"{base}.{alias.name}" for alias in child.names]
            else:
                targets = []
            for target in filter(None, map(_known, targets)):
                if target != name:
                    found[target] = found.get(target, True) and in_function
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(ast.parse(source.read_text(encoding="utf-8")), False)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def layer(name: str) -> int:
    return LAYERS.get(name.partition(".")[2].partition(".")[0], TOP)


def test_the_reader_finds_imports_made_inside_functions() -> None:
    # accounts.middleware imports accounts.pending at the top; cli imports demo at call time.
    assert GRAPH["twofold.accounts.middleware"]["twofold.accounts.pending"] is False
    assert GRAPH["twofold.cli"]["twofold.demo"] is True


def test_no_package_imports_one_above_it() -> None:
    upward = {
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if layer(target) > layer(name) and name not in KNOWN_UPWARD
    }
    assert upward == set()


def test_core_imports_nothing_of_twofold_but_core_and_the_configuration() -> None:
    outside = {
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if layer(name) == 1
        for target in targets
        if layer(target) != 1
    }
    assert outside == set()


def _reaches(start: str, goal: str) -> bool:
    """Whether importing ``start`` at the top of modules alone leads back to ``goal``."""
    seen, stack = set(), [start]
    while stack:
        for target, in_function in GRAPH[stack.pop()].items():
            if target == goal and not in_function:
                return True
            if not in_function and target not in seen:
                seen.add(target)
                stack.append(target)
    return False


def test_no_two_modules_import_each_other_even_at_call_time() -> None:
    circles = {
        frozenset({name, target})
        for name, targets in GRAPH.items()
        for target in targets
        if _reaches(target, name)
    }
    assert circles - KNOWN_CIRCLES == set()


def test_the_known_exceptions_are_still_exceptions() -> None:
    """A fixed exception leaves its list, so that the lists only shrink."""
    still_upward = {
        name for name in KNOWN_UPWARD if any(layer(t) > layer(name) for t in GRAPH[name])
    }
    assert still_upward == KNOWN_UPWARD
    assert all(any(_reaches(b, a) for a, b in (tuple(c), tuple(c)[::-1])) for c in KNOWN_CIRCLES)

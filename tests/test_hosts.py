"""The hosts of methods name no method (docs/design.md, "Methods"): first-time registration
(signin/register.py), the second step's rules (signin/services.py), the settings page
(selfservice/) and the admin's page of a user reach methods only through methods/base.py
and methods/enrolment.py. Adding a method must not need an edit there.

Read from the source, as tests/test_layers.py does: an import inside a function counts,
and so does a method's key, option key or policy kind written as a string, a method's
template included, or one of its pages named by URL.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from twofold.methods import base

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "twofold"
METHODS = PACKAGE / "methods"

# The hosts' Python: whole modules, or (module, functions) for a page in a larger module.
HOST_MODULES = [
    PACKAGE / "signin" / "register.py",
    PACKAGE / "signin" / "services.py",
    *sorted(p for p in (PACKAGE / "selfservice").rglob("*.py") if "tests" not in p.parts),
]
HOST_FUNCTIONS = {PACKAGE / "adminportal" / "views.py": ("user_detail", "user_remove")}
HOST_TEMPLATES = [
    PACKAGE / "signin" / "templates" / "signin" / "register.html",
    *sorted((PACKAGE / "selfservice" / "templates").rglob("*.html")),
    PACKAGE / "adminportal" / "templates" / "adminportal" / "user.html",
]


def method_packages() -> list[str]:
    """Every method's package: a folder of methods/ with a method.py."""
    return sorted(path.parent.name for path in METHODS.glob("*/method.py"))


def method_words(*, kinds: bool = True) -> set[str]:
    """What names one method: its key, its options' keys and (``kinds``) its policy kinds,
    which in a page are also plain HTML words ("text", a field's type)."""
    words = set()
    for method in base.registry().values():
        words.add(method.key)
        words.update(spec.key for spec in method.catalogue)
        if kinds:
            words.update(kind.value for kind in method.policy_kinds)
    return words


def method_url_names() -> set[str]:
    """The names of the methods' own pages (each package's urls.py)."""
    names = set()
    for urls in METHODS.glob("*/*urls.py"):
        names.update(re.findall(r'name="([\w-]+)"', urls.read_text()))
    return names


def _nodes(path: Path) -> list[ast.AST]:
    tree = ast.parse(path.read_text(), filename=str(path))
    wanted = HOST_FUNCTIONS.get(path)
    if wanted is None:
        return [tree]
    found = [node for node in tree.body if getattr(node, "name", None) in wanted]
    assert len(found) == len(wanted), f"{path}: {wanted} not all found"
    return found


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return []


def _of_a_method(module: str) -> bool:
    packages = {f"twofold.methods.{name}" for name in method_packages()}
    return any(module == p or module.startswith(f"{p}.") for p in packages)


def _method_names_bound(path: Path) -> set[str]:
    """The module-level names of ``path`` bound to something of a method's package."""
    bound = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and _of_a_method(node.module):
            bound.update(alias.asname or alias.name for alias in node.names)
        if isinstance(node, ast.Import):
            bound.update(
                (alias.asname or alias.name).partition(".")[0]
                for alias in node.names
                if _of_a_method(alias.name)
            )
    return bound


def offences_in_python(path: Path) -> list[str]:
    words = method_words()
    # In a page of a larger module: what the module imported from a method, used there.
    bound = _method_names_bound(path) if path in HOST_FUNCTIONS else set()
    found = []
    for top in _nodes(path):
        for node in ast.walk(top):
            found += [f"imports {module}" for module in _imported(node) if _of_a_method(module)]
            if isinstance(node, ast.Constant) and node.value in words:
                found.append(f"names {node.value!r} (line {node.lineno})")
            if isinstance(node, ast.Name) and node.id in bound:
                found.append(f"uses {node.id} (line {node.lineno})")
    return found


def offences_in_template(path: Path) -> list[str]:
    text = path.read_text()
    found = [
        f"includes {name}/..." for name in method_packages() if re.search(rf"""["']{name}/""", text)
    ]
    found += [
        f"links to {name}"
        for name in method_url_names()
        if re.search(rf"""{{% url ["']{re.escape(name)}["']""", text)
    ]
    found += [
        f"names {word!r}"
        for word in method_words(kinds=False)
        if re.search(rf"""["']{re.escape(word)}["']""", text)
    ]
    return found


def test_the_reader_finds_what_names_a_method(tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n"
        "    from twofold.methods.phone import services\n"
        "    return 'text:authentication'\n"
    )
    assert offences_in_python(sample) == [
        "imports twofold.methods.phone",
        "imports twofold.methods.phone.services",
        "names 'text:authentication' (line 3)",
    ]
    page = tmp_path / "page.html"
    page.write_text("{% include \"phone/pending.html\" %}{% url 'passkeys-add' %}")
    assert offences_in_template(page) == ["includes phone/...", "links to passkeys-add"]


def test_there_are_methods_to_look_for() -> None:
    assert {"phone", "authenticator", "passkeys", "recovery"} <= set(method_packages())
    assert {"phone", "text:authentication", "passkey"} <= method_words()
    assert {"authenticator-setup", "verify-phone"} <= method_url_names()


@pytest.mark.parametrize(
    "path",
    [*HOST_MODULES, *HOST_FUNCTIONS],
    ids=lambda path: str(path.relative_to(PACKAGE)),
)
def test_a_host_s_code_names_no_method(path: Path) -> None:
    assert offences_in_python(path) == []


@pytest.mark.parametrize("path", HOST_TEMPLATES, ids=lambda path: path.name)
def test_a_host_s_page_names_no_method(path: Path) -> None:
    assert offences_in_template(path) == []

"""Every string people read is marked for translation and has a zh-Hans translation.

The scanners live in ``unmarked.py``; the first tests prove that each scanner catches
what it should on planted sources, the rest run them over the package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from twofold.core.tests import catalogue, unmarked, unmarked_js

SAMPLE_TEMPLATE = """{% extends "web/base.html" %}{% load i18n %}
{% block body_class %}card-page{% endblock %}
{% block content %}
<h1>{% translate "Marked" %}</h1>
<p>Not marked {{ name }}</p>
<input placeholder="Type here">
<code>twofold users import FILE.csv</code>
{% blocktranslate %}Marked too {{ name }}{% endblocktranslate %}
{% endblock %}
"""
SAMPLE_PYTHON = """
from django import forms
from django.utils.translation import gettext_lazy as _
from twofold.core.errors import InvalidInput

class Refused(InvalidInput):
    default_message = "Refused for a reason."

class Form(forms.Form):
    name = forms.CharField(label="Your name", help_text=_("Marked"))

def view(request):
    messages.success(request, "Saved it.")
    raise Refused("Try again later.")

def operator():
    raise ValueError("for the operator's log")
"""
SAMPLE_JS = """// "Words in a comment" are not shown
status.textContent = "Not marked";
status.textContent = t("Marked {count}", { count: 2 });
button.setAttribute("aria-label", 'Unmarked label');
"""

# Text built other ways than a lone literal: branches, fallbacks, joins, template
# literals into innerHTML, a text node. Literals inside calls and objects, and ones
# compared with ===, are not shown.
SAMPLE_BUILT_JS = """name.value ||= platform() === "Web" ? "Phone" : `${platform()} phone`;
banner.innerHTML = `<p>${count} waiting</p>`;
heading.textContent = ok
  ? t("Approved")
  : "Not approved";
time.textContent = new Date().toLocaleTimeString([], { hour: "2-digit" });
status.textContent = name + " left the room";
row.append(document.createTextNode("Plain words"));
code.textContent = `${code.slice(0, 3)} ${code.slice(3)}`;
field.value = "";
"""

# What people read in answers and summaries, next to what machines read (kept English).
SAMPLE_SHOWN_PYTHON = """
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext_noop

def received(request):
    return HttpResponse("Your request was received.")

def alive(request):
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")

def refused(request):
    return JsonResponse({"error": "locked", "message": "Try again later."}, status=429)

def protocol(request):
    body = {"error": "invalid_request", "error_description": "Send the token in a header."}
    return JsonResponse(body, status=400)

def described(router):
    router.add(summary="List users", description=gettext_noop("Marked for later."))

log.warning("could not send the text: %s", code)
"""
SAMPLE_META = """<meta name="description" content="Sign in to your organisation">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="0; url=/oauth2/authorize">
"""


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    (root / "x" / "templates" / "x").mkdir(parents=True)
    (root / "x" / "templates" / "x" / "page.html").write_text(SAMPLE_TEMPLATE)
    (root / "x" / "forms.py").write_text(SAMPLE_PYTHON)
    (root / "x" / "static" / "x").mkdir(parents=True)
    (root / "x" / "static" / "x" / "app.js").write_text(SAMPLE_JS)
    return root


def test_the_template_scanner_finds_unmarked_text_and_attributes(planted):
    found = unmarked.unmarked_in_templates(planted)
    assert found == [
        "pkg/x/templates/x/page.html:5: 'Not marked …'",
        "pkg/x/templates/x/page.html:6: 'Type here'",
    ]


def test_the_python_scanner_finds_unmarked_labels_messages_and_user_errors(planted):
    found = [line.split(": ", 1)[1] for line in unmarked.unmarked_in_python(planted)]
    assert found == ["'Refused for a reason.'", "'Your name'", "'Saved it.'", "'Try again later.'"]


def test_the_template_scanner_checks_the_content_of_meta_tags_people_read(planted):
    (planted / "x" / "templates" / "x" / "meta.html").write_text(SAMPLE_META)
    found = [line for line in unmarked.unmarked_in_templates(planted) if "meta.html" in line]
    assert found == ["pkg/x/templates/x/meta.html:1: 'Sign in to your organisation'"]


def test_the_python_scanner_finds_response_bodies_json_messages_and_summaries(planted):
    (planted / "x" / "views.py").write_text(SAMPLE_SHOWN_PYTHON)
    found = [
        line.split(": ", 1)[1]
        for line in unmarked.unmarked_in_python(planted)
        if line.startswith("pkg/x/views.py")
    ]
    assert found == ["'Your request was received.'", "'Try again later.'", "'List users'"]


def test_the_openapi_documents_summaries_are_left_to_the_docs_page(planted):
    (planted / "api").mkdir()
    (planted / "api" / "users.py").write_text('router.get("/", summary="List users")\n')
    assert [line for line in unmarked.unmarked_in_python(planted) if "api/" in line] == []


def test_the_javascript_scanner_finds_text_not_passed_through_t(planted):
    found = [line.split(": ", 1)[1] for line in unmarked_js.unmarked_in_javascript(planted)]
    assert sorted(found) == ["'Not marked'", "'Unmarked label'"]


def test_the_javascript_scanner_reads_the_whole_value_shown(planted):
    (planted / "x" / "static" / "x" / "built.js").write_text(SAMPLE_BUILT_JS)
    found = [
        line.split(":", 2)[1:]
        for line in unmarked_js.unmarked_in_javascript(planted)
        if "built.js" in line
    ]
    assert sorted((int(line), text.strip()) for line, text in found) == [
        (1, "'${platform()} phone'"),
        (1, "'Phone'"),
        (2, "'<p>${count} waiting</p>'"),
        (5, "'Not approved'"),
        (7, "' left the room'"),
        (8, "'Plain words'"),
    ]


def test_a_javascript_text_needs_an_entry_with_the_same_placeholders(planted):
    catalogues = planted / "x" / "static" / "x" / "i18n"
    assert unmarked_js.javascript_catalogue_problems("zh-hans", planted) == [
        "pkg/x/static/x/app.js:3: no i18n/zh-hans.json for 'Marked {count}'"
    ]
    catalogues.mkdir()
    (catalogues / "zh-hans.json").write_text('{"Marked {count}": "已标记 {number}"}')
    assert unmarked_js.javascript_catalogue_problems("zh-hans", planted) == [
        "pkg/x/static/x/app.js:3: 'Marked {count}' and its zh-hans entry differ in {}"
    ]
    (catalogues / "zh-hans.json").write_text('{"Marked {count}": "已标记 {count} 个"}')
    assert unmarked_js.javascript_catalogue_problems("zh-hans", planted) == []


def test_the_catalogue_check_finds_missing_fuzzy_and_mismatched_entries(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Sign in"\nmsgstr "登录"\n\n'
        'msgid "Not yet"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Guessed"\nmsgstr "猜的"\n\n'
        '#, python-format\nmsgid "Call %(number)s"\nmsgstr "呼叫 %(numbr)s"\n\n'
        '#, python-format\nmsgid "%(count)s user"\nmsgid_plural "%(count)s users"\n'
        'msgstr[0] "%(count)s 个用户"\n',
        encoding="utf-8",
    )
    problems = catalogue.catalogue_problems(po)
    assert [problem.split(": ", 1)[1] for problem in problems] == [
        "'Not yet' has no translation",
        "'Guessed' is fuzzy",
        "'Call %(number)s': placeholders differ in '呼叫 %(numbr)s'",
    ]


def test_no_template_has_unmarked_text():
    assert unmarked.unmarked_in_templates() == []


def test_no_python_string_shown_to_people_is_unmarked():
    assert unmarked.unmarked_in_python() == []


def test_no_javascript_text_is_unmarked():
    assert unmarked_js.unmarked_in_javascript() == []


def test_every_javascript_text_has_a_zh_hans_entry():
    assert unmarked_js.javascript_catalogue_problems("zh-hans") == []


def test_every_zh_hans_entry_is_translated_not_fuzzy_and_keeps_its_placeholders():
    assert catalogue.catalogue_problems() == []


def test_revoke_is_always_the_same_chinese_word():
    """撤销 throughout; 吊销 (said of licences) nowhere."""
    entries = catalogue.read_po(catalogue.CATALOGUE)
    assert [entry.msgid for entry in entries if "吊销" in "".join(entry.msgstrs)] == []


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs gettext's xgettext")
def test_the_catalogue_holds_every_marked_string(tmp_path):
    """makemessages over a copy of the sources finds no msgid the committed catalogue lacks."""
    copy = tmp_path / "twofold"
    shutil.copytree(
        unmarked.PACKAGE,
        copy,
        ignore=shutil.ignore_patterns("tests", "__pycache__", "*.mo", "migrations"),
    )
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment.pop("DJANGO_SETTINGS_MODULE", None)  # makemessages reads ./locale then
    django_admin = Path(sys.executable).with_name("django-admin")
    subprocess.run(
        [str(django_admin), "makemessages", "-l", "zh_Hans", "--no-obsolete", "--keep-pot"],
        cwd=copy,
        env=environment,
        check=True,
        capture_output=True,
    )
    extracted = catalogue.read_po(copy / "locale" / "django.pot")
    ours = {(entry.msgctxt, entry.msgid) for entry in catalogue.read_po(catalogue.CATALOGUE)}
    missing = [entry.msgid for entry in extracted if (entry.msgctxt, entry.msgid) not in ours]
    assert missing == []

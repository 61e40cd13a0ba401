"""The API's docs page: the OpenAPI document drawn as HTML on the server.

django-ninja's own page loads Swagger UI from a CDN, which the Content-Security-Policy
(script-src 'self') and offline installations forbid; this page needs no script at all.

The document stays English (a machine-readable contract, the same for every client); this
page shows its words in the reader's language, each looked up at render time under the
"API docs" context (whitespace folded, so a docstring's line breaks don't matter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, pgettext
from django.views.decorators.http import require_GET

from twofold.api.v1 import api

_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Field:
    name: str
    type: str
    required: bool
    description: str = ""


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    scope: str
    parameters: list[Field] = field(default_factory=list)
    body: list[Field] = field(default_factory=list)
    responses: list[tuple[str, str]] = field(default_factory=list)


_CONTEXT = "API docs"


def shown(text: str) -> str:
    """``text`` from the OpenAPI document as this page shows it: in the reader's language
    where the catalogue has it, else as written."""
    paragraphs = [" ".join(part.split()) for part in text.split("\n\n")]
    return "\n\n".join(pgettext(_CONTEXT, part) if part else part for part in paragraphs)


def _status_text(text: str) -> str:
    return pgettext("HTTP status", text) if text else ""  # gettext("") is the PO header


def _type(schema: dict[str, Any], components: dict[str, Any]) -> str:
    """A JSON Schema type in words: names of types stay as the document writes them."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        parts = [_type(part, components) for part in schema["anyOf"]]
        joined = parts[0]
        for other in parts[1:]:
            joined = gettext("%(one)s or %(other)s") % {"one": joined, "other": other}
        return joined
    if "enum" in schema:
        return " | ".join(str(value) for value in schema["enum"])
    if schema.get("type") == "array":
        return gettext("list of %(type)s") % {"type": _type(schema.get("items", {}), components)}
    return str(schema.get("format") or schema.get("type") or "any")


def _fields(schema: dict[str, Any], components: dict[str, Any]) -> list[Field]:
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    return [
        Field(name, _type(spec, components), name in required, shown(spec.get("description", "")))
        for name, spec in schema.get("properties", {}).items()
    ]


def _operation(path: str, method: str, spec: dict[str, Any], components: dict) -> Operation:
    body = spec.get("requestBody", {}).get("content", {}).get("application/json", {})
    return Operation(
        method=method.upper(),
        path=path,
        summary=shown(spec.get("summary", "")),
        description=shown(spec.get("description", "")),
        scope=spec.get("x-scope", ""),
        parameters=[
            Field(
                f"{parameter['name']} ({parameter['in']})",
                _type(parameter.get("schema", {}), components),
                parameter.get("required", False),
                shown(
                    parameter.get("description", "")
                    or parameter.get("schema", {}).get("description", "")
                ),
            )
            for parameter in spec.get("parameters", [])
        ],
        body=_fields(body.get("schema", {}), components),
        responses=[
            (status, _status_text(response.get("description", "")))
            for status, response in spec.get("responses", {}).items()
        ],
    )


def operations() -> tuple[dict[str, Any], list[tuple[str, list[Operation]]]]:
    """The document, and its operations grouped by tag in the order they were declared."""
    schema = api.get_openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    groups: dict[str, list[Operation]] = {}
    for path, item in schema["paths"].items():
        for method in _METHODS:
            if method in item:
                spec = item[method]
                tag = (spec.get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append(_operation(path, method, spec, components))
    return schema, list(groups.items())


@require_GET
def docs_page(request: HttpRequest) -> HttpResponse:
    schema, groups = operations()
    sections = [(tag, pgettext("API section", tag), listed) for tag, listed in groups]
    info = schema["info"]
    context = {
        "info": {**info, "title": shown(info["title"]), "description": shown(info["description"])},
        "groups": sections,
        "openapi_url": reverse("api-v1:openapi-json"),
    }
    return render(request, "api/docs.html", context)


def home(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponseRedirect(reverse("api-docs"))

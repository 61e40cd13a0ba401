"""The API's docs page: the OpenAPI document drawn as HTML on the server.

django-ninja's own page loads Swagger UI from a CDN, which the Content-Security-Policy
(script-src 'self') and offline installations forbid; this page needs no script at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
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


def _type(schema: dict[str, Any], components: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type(part, components) for part in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(str(value) for value in schema["enum"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}), components)}"
    return str(schema.get("format") or schema.get("type") or "any")


def _fields(schema: dict[str, Any], components: dict[str, Any]) -> list[Field]:
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    return [
        Field(name, _type(spec, components), name in required, spec.get("description", ""))
        for name, spec in schema.get("properties", {}).items()
    ]


def _operation(path: str, method: str, spec: dict[str, Any], components: dict) -> Operation:
    body = spec.get("requestBody", {}).get("content", {}).get("application/json", {})
    return Operation(
        method=method.upper(),
        path=path,
        summary=spec.get("summary", ""),
        description=spec.get("description", ""),
        scope=spec.get("x-scope", ""),
        parameters=[
            Field(
                f"{parameter['name']} ({parameter['in']})",
                _type(parameter.get("schema", {}), components),
                parameter.get("required", False),
                parameter.get("description", "")
                or parameter.get("schema", {}).get("description", ""),
            )
            for parameter in spec.get("parameters", [])
        ],
        body=_fields(body.get("schema", {}), components),
        responses=[
            (status, response.get("description", ""))
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
    context = {
        "info": schema["info"],
        "groups": groups,
        "openapi_url": reverse("api-v1:openapi-json"),
    }
    return render(request, "api/docs.html", context)


def home(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponseRedirect(reverse("api-docs"))

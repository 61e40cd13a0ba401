"""/api/v1/: the operations, the OpenAPI document, its docs page; JSON for anything else."""

from django.urls import include, path, re_path

from twofold.api import docs, errors
from twofold.api.v1 import api


def _operations():
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if pattern.name == "api-root":
            pattern.callback = docs.home  # django-ninja's own raises a (HTML) 404
        else:
            pattern.callback = errors.guarded(pattern.callback)
    return include((patterns, app_name), namespace=namespace)


urlpatterns = [
    path("docs", docs.docs_page, name="api-docs"),
    path("", _operations()),
    re_path(r"^.*$", errors.unknown_path, name="api-unknown"),
]

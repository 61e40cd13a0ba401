import pytest

from twofold.audit import models as audit_models
from twofold.methods import base
from twofold.methods.tests import example


@pytest.fixture
def with_example(monkeypatch, settings):
    """The registry with the example method added, as its registration line would add it,
    and its prompt template where the template loaders find it."""
    monkeypatch.setattr(
        base, "METHODS", (*base.METHODS, "twofold.methods.tests.example.ExampleMethod")
    )
    base.registry.cache_clear()
    base._specs.cache_clear()
    audit_models.add_method_actions(base.audit_actions())
    engine = settings.TEMPLATES[0]
    options = {key: value for key, value in engine["OPTIONS"].items() if key != "loaders"}
    settings.TEMPLATES = [
        {
            **engine,
            "APP_DIRS": False,
            "OPTIONS": {
                **options,
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {example.PROMPT: example.HTML, example.PANEL: example.PANEL_HTML},
                    ),
                    "django.template.loaders.filesystem.Loader",
                    "django.template.loaders.app_directories.Loader",
                ],
            },
        }
    ]
    settings.ROOT_URLCONF = "twofold.methods.tests.example"
    yield
    example.REGISTERED.clear()
    audit_models._METHOD_ACTIONS.pop("example.made", None)
    monkeypatch.undo()
    base.registry.cache_clear()
    base._specs.cache_clear()

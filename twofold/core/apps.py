from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "twofold.core"
    label = "core"

    def ready(self) -> None:
        # Registers the ``__any`` lookup (one array instead of an IN list) on every field.
        from twofold.core import bulk  # noqa: F401

"""Model fields that mark what is stored encrypted, so that nothing has to list them by hand.

Every column holding ``core.crypto.encrypt`` ciphertext is declared an ``EncryptedTextField``:
``encrypted_fields()`` finds them all for ``twofold rotate-keys``. The field stores and loads
the ciphertext as it is (services encrypt and decrypt, as before): it is a ``TextField`` to
the database and to migrations, and only a marker to twofold.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models


class EncryptedTextField(models.TextField):
    """A text column holding Fernet ciphertext made by ``core.crypto.encrypt``."""

    def deconstruct(self) -> tuple[str, str, list, dict]:
        # Migrations see a plain TextField: marking a column changes nothing in the database.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.TextField", args, kwargs


def encrypted_fields() -> list[models.Field]:
    """Every encrypted column of every installed model, in a stable order."""
    found = [
        field
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, EncryptedTextField)
    ]
    return sorted(found, key=lambda field: (field.model._meta.label, field.name))

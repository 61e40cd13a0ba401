"""``insert``: rows inserted in bulk as one executemany (no primary keys read back)."""

from __future__ import annotations

from django.db import connections
from django.db.models import Model


def insert(model: type[Model], objects: list[Model]) -> None:
    """What bulk_create inserts, as one executemany: Django's bulk_create builds the SQL
    value by value, which is most of the time of a 100,000-row import or sync on SQLite.
    The objects' primary keys are not set: read them back by a unique field if needed."""
    if not objects:
        return
    fields = [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and not field.generated
    ]
    database = connections[model.objects.db]
    quote = database.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    values = [
        [field.get_db_prep_save(field.pre_save(obj, True), database) for field in fields]
        for obj in objects
    ]
    with database.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})",  # noqa: S608 - names from the model
            values,
        )

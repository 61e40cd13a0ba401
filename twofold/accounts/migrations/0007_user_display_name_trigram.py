"""A trigram index for the admin portal's search by display name, on PostgreSQL only.

The users list searches ``display_name`` with ``icontains`` (UPPER(display_name) LIKE
'%…%'), which no B-tree serves: at a million users each search read the whole table.
pg_trgm's GIN index serves it. pg_trgm is a trusted extension (PostgreSQL 13+), so a
database owner may create it; where that is refused the search still works, unindexed.
"""

import logging

from django.db import DatabaseError, migrations, transaction

log = logging.getLogger(__name__)

INDEX = "user_display_name_trgm"


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON accounts_user "
                "USING gin (UPPER(display_name) gin_trgm_ops)"
            )
    except DatabaseError as refused:
        log.warning("no trigram index for the users search (%s): it stays unindexed", refused)


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_user_list_partial_indexes")]

    operations = [migrations.RunPython(create, drop)]

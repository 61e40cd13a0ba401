"""Bulk work on many rows at once (a directory sync, a CSV import, a batch of audit events).

``insert``: rows inserted in bulk, no primary keys read back: a few in one multi-row
INSERT, more by COPY on PostgreSQL or one executemany on SQLite. ``field__any=[...]``: a
lookup that sends a batch's values as one array on PostgreSQL (``= ANY(%s)``) instead of
one placeholder each. Both exist for speed (docs/directory.md, "Speed"): psycopg converts
a query a placeholder at a time and caches no long query, and its executemany sends a row
at a time.
"""

from __future__ import annotations

import time

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Field, Lookup, Model

#: Up to this many rows go in one multi-row INSERT (one statement, one round trip: a
#: batch of audit events on the validate check's path); more go by COPY on PostgreSQL.
FEW_ROWS = 20


def insert(
    model: type[Model], objects: list[Model], *, along: tuple[str, list] | None = None
) -> None:
    """What bulk_create inserts, without building the SQL value by value as Django's
    bulk_create does (most of the time of a 100,000-row import or sync): a few rows in one
    multi-row INSERT; more by one COPY on PostgreSQL, elsewhere one executemany. The
    objects' primary keys are not set: read them back by a unique field if needed. Rows go
    in the list's order (their IDs follow it).

    ``along``: an UPDATE (SQL and parameters) that goes with the rows in the caller's
    transaction: on PostgreSQL, with a few rows, in the same statement (``WITH … AS
    (UPDATE …) INSERT …``: one round trip; an audit chain's head, audit/chain.py), else
    as a statement of its own just before."""
    if not objects:
        return
    fields = [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and not field.generated
    ]
    database = connections[model.objects.db]
    quote = database.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    values = (
        [field.get_db_prep_save(field.pre_save(obj, True), database) for field in fields]
        for obj in objects
    )
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with database.cursor() as cursor:
        if len(objects) <= FEW_ROWS:
            sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(objects))}"  # noqa: S608 - names from the model
            params = [value for one in values for value in one]
            if along is not None and database.vendor == "postgresql":
                sql, params = f"WITH along AS ({along[0]}) {sql}", [*along[1], *params]
            elif along is not None:
                cursor.execute(*along)
            cursor.execute(sql, params)
            return
        if along is not None:
            cursor.execute(*along)
        if database.vendor == "postgresql":
            _copy(database, cursor, f"COPY {table} ({columns}) FROM STDIN", values)
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES {row}",  # noqa: S608 - names from the model
                list(values),
            )


def _copy(database, cursor, sql: str, rows) -> None:
    """COPY ``rows`` in through psycopg's own cursor (Django's wrapper has no copy()), its
    errors turned into Django's (an IntegrityError for a name taken meanwhile), as the
    wrapper does; logged where Django logs queries (tests counting statements see it)."""
    started = time.monotonic()
    with database.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
    if database.queries_logged:
        database.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


@Field.register_lookup
class AnyOf(Lookup):
    """``field__any=values``: the rows whose field is one of ``values`` (a list), as
    ``__in`` selects them, but sent as one array parameter on PostgreSQL
    (``field = ANY(%s)``): a query with one placeholder, which psycopg converts once and
    caches, whatever the number of values. Elsewhere it is ``IN (%s, ...)``. No values:
    no rows."""

    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self) -> list:
        field = self.lhs.output_field
        return [field.get_prep_value(value) for value in self.rhs]

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection, prepared=True) for value in self.rhs]
        if not values:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]

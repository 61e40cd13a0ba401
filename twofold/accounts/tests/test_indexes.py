"""The indexes the admin portal's users list stands on at a million users."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _indexes_of_users() -> set[str]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, "accounts_user")
    return {name for name, info in found.items() if info["index"]}


def test_blocked_and_locked_out_users_have_partial_indexes() -> None:
    assert {"user_org_username_blocked", "user_org_username_locked"} <= _indexes_of_users()


def test_the_display_name_search_has_a_trigram_index_on_postgresql_only() -> None:
    # pg_trgm serves icontains; SQLite has no such index type (its search stays a scan).
    has_trigram_index = "user_display_name_trgm" in _indexes_of_users()
    assert has_trigram_index == (connection.vendor == "postgresql")

"""A code exchanged several times at once (RFC 6749 section 4.1.2): whichever exchange
wins, the code was presented again, so no token issued from it stays alive."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken

from conftest import at_once

from .conftest import follow_to_code, password_step

EXCHANGES = 5


@pytest.mark.django_db(transaction=True)
def test_a_code_exchanged_several_times_at_once_leaves_no_token_alive(
    client, bob, web_flow
) -> None:
    password_step(client, "bob@contoso.example")
    code = follow_to_code(client, web_flow)
    statuses = at_once(lambda: web_flow.token(Client(), code).status_code, EXCHANGES)
    now = timezone.now()
    alive = (
        AccessToken.objects.filter(expires__gt=now).count(),
        RefreshToken.objects.filter(revoked__isnull=True).count(),
    )
    assert (sorted(statuses), alive) == ([200] + [400] * (EXCHANGES - 1), (0, 0))

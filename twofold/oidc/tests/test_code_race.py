"""A code or a refresh token used several times at once is a replay like one used again
later (RFC 6749 section 4.1.2, RFC 9700 section 4.14.2): one use is honoured, the others
are refused (never a 500), and the tokens issued from it end."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken

from conftest import at_once

from .conftest import follow_to_code, password_step, tokens_for
from .test_tokens import refresh

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


@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_used_several_times_at_once_is_honoured_once_and_refused_after(
    client, bob, web_flow
) -> None:
    password_step(client, "bob@contoso.example")
    first = tokens_for(client, web_flow)
    statuses = at_once(lambda: refresh(web_flow, first["refresh_token"]).status_code, EXCHANGES)
    assert sorted(statuses) == [200] + [400] * (EXCHANGES - 1)

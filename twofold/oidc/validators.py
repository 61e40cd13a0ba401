"""django-oauth-toolkit's request validator, taught twofold's rules.

- PKCE (S256) is required from public clients; a confidential client may add it.
- A code is only issued to, and exchanged for, a user of the application's organisation
  who may still sign in; a blocked or disabled user's tokens stop working.
- ID tokens carry amr, acr and auth_time from the browser session that authorized
  (kept in models.Authentication from the code to the last refresh), and the user's
  claims (claims.py) by scope.
- Only the authorization code flow and its refresh tokens (server.py wires nothing else):
  no user is ever accepted by password here (docs/security.md 30), an application gets
  only the grants it is registered for, and asks for them before its secret is checked.
- A code presented again after its exchange ends the tokens issued from it (RFC 6749
  section 4.1.2; services.end_tokens_of_replayed_code), also when both exchanges come
  at the same moment (the grant is locked for the exchange's transaction); a refresh
  token used twice at once likewise.
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from oauth2_provider.models import get_grant_model, get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from twofold.core import crypto
from twofold.oidc import claims, keys, services
from twofold.oidc.models import Application, Authentication


class TwofoldValidator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, **claims.CLAIM_SCOPES}

    def is_pkce_required(self, client_id, request) -> bool:
        client = request.client
        if client is None or client.client_id != client_id:
            client = Application.objects.filter(client_id=client_id).first()
        return client is None or client.client_type != Application.CLIENT_CONFIDENTIAL

    # --- What may run at all: the code flow, for applications registered for it ----------

    def validate_user(self, username, password, client, request, *args, **kwargs) -> bool:
        """The password grant: never. No password is looked at, right or wrong."""
        return False

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return grant_type in _CODE_FLOW_GRANTS and client.allows_grant_type(
            Application.GRANT_AUTHORIZATION_CODE
        )

    def validate_response_type(self, client_id, response_type, client, request, *a, **kw):
        return response_type == "code" and client.allows_grant_type(
            Application.GRANT_AUTHORIZATION_CODE
        )

    def refuse_unregistered_grant(self, request) -> None:
        """pre_token (server.py): a grant the named application isn't registered for is
        refused before its secret is checked, so that the answer is the same either way.
        An unknown application is left to client authentication (invalid_client)."""
        client_id = services.client_id_from(request.client_id, request.headers.get("Authorization"))
        client = Application.objects.filter(client_id=client_id).first() if client_id else None
        if client is not None and not self.validate_grant_type(
            client_id, request.grant_type, client, request
        ):
            raise errors.UnauthorizedClientError(request=request)

    # prompt=none: the authorize view answers for signed-out users and for demands it
    # can't meet silently; there is never a consent screen to skip.
    def validate_silent_login(self, request) -> bool:
        return True

    def validate_silent_authorization(self, request) -> bool:
        return True

    # --- The code: issued with how the user signed in, exchanged only while it holds -----

    def save_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        # Set by views.AuthorizeView from the browser session (authn.of_session).
        authentication = getattr(request, "twofold_authentication", None)
        with transaction.atomic():
            grant = self._create_authorization_code(request, code)
            if authentication is not None:
                Authentication.objects.create(
                    grant=grant,
                    application=request.client,
                    user=request.user,
                    code_digest=crypto.digest(code["code"]),
                    **authentication,
                )

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        # The code's grant stays locked until this exchange commits (views.TokenView runs
        # in one transaction): a second exchange of it at the same moment waits, then
        # finds it gone, a replay like any other, rather than getting tokens of its own.
        list(
            get_grant_model()
            .objects.select_for_update()
            .filter(code=code, application=client)
            .values_list("pk", flat=True)
        )
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            services.end_tokens_of_replayed_code(client, code)
            return False
        if not _may_use(request.user, client):
            return False
        request.twofold_authentication = Authentication.objects.filter(
            grant__code=code, application=client
        ).first()
        return True

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        # As a code's grant (validate_code): locked for this refresh's transaction, so that
        # a second use of it at the same moment waits, then meets it revoked, a replay (the
        # toolkit would otherwise hand it the first one's access token, which it no longer
        # holds in clear: a 500).
        list(
            get_refresh_token_model()
            .objects.select_for_update()
            .filter(token_checksum=hashlib.sha256(refresh_token.encode()).hexdigest())
            .values_list("pk", flat=True)
        )
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        if not _may_use(request.user, client):
            return False
        family = request.refresh_token_instance.token_family
        request.twofold_authentication = (
            Authentication.objects.filter(token_family=family, application=client).first()
            if family
            else None
        )
        return True

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous):
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous
        )
        authentication = getattr(request, "twofold_authentication", None)
        if authentication is not None and authentication.token_family is None:
            authentication.token_family = refresh_token.token_family
            authentication.save(update_fields=["token_family"])
        return refresh_token

    def validate_bearer_token(self, token, scopes, request) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        return request.user is None or request.user.can_sign_in

    # --- Claims --------------------------------------------------------------------------

    def get_additional_claims(self, request) -> dict[str, str]:
        return claims.user_claims(request.user)

    def get_userinfo_claims(self, request) -> dict[str, object]:
        found = super().get_userinfo_claims(request)
        return {name: value for name, value in found.items() if name not in claims.SIGN_IN_CLAIMS}

    def get_id_token_dictionary(self, token, token_handler, request):
        found, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        authentication = getattr(request, "twofold_authentication", None)
        if authentication is None:  # no record of how: claim no more than a password
            found.update(amr=["pwd"], acr=claims.ACR_PWD)
        else:
            found.update(
                amr=list(authentication.amr),
                acr=authentication.acr,
                auth_time=int(authentication.auth_time.timestamp()),
            )
        return found, expiration_time

    def _get_key_for_token(self, token):
        """Verify ID tokens (logout hints) with every configured key, old ones included."""
        key = super()._get_key_for_token(token)
        if key is not None and key.get("kty") == "RSA":
            return keys.verifying_keys()
        return key


_CODE_FLOW_GRANTS = ("authorization_code", "refresh_token")


def _may_use(user, client: Application) -> bool:
    return user is not None and user.can_sign_in and user.organisation_id == client.organisation_id

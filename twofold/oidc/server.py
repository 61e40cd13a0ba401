"""The oauthlib server behind the provider's endpoints: only what twofold offers is wired.

oauthlib's ready-made OpenID Connect server wires every grant (password, client
credentials, implicit, hybrid, device code) and leaves it to the validator to refuse what
an application may not use. That refusal comes too late: the password grant checked the
user's password before it asked whether the grant was allowed, so its answers told a
right password from a wrong one (docs/security.md 30). Here there is the authorization
code (OpenID Connect's, or plain OAuth's without the openid scope) and its refresh tokens,
nothing else:

- the token endpoint refuses any other grant type before it looks at a client, a code or a
  credential: one answer, ``unsupported_grant_type``, whatever was sent with it;
- an application asking for a grant it isn't registered for is refused before its secret
  is checked (validators.TwofoldValidator.refuse_unregistered_grant);
- the authorization endpoint answers ``response_type=code`` only (no implicit or hybrid
  flow, no ``none``): anything else gets ``unsupported_response_type`` at the
  application's registered redirect_uri;
- no introspection endpoint; the resource endpoint (userinfo) takes Bearer tokens only.
"""

from __future__ import annotations

from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.endpoints import (
    AuthorizationEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant as OAuth2CodeGrant
from oauthlib.oauth2.rfc6749.tokens import BearerToken
from oauthlib.openid.connect.core.endpoints.userinfo import UserInfoEndpoint
from oauthlib.openid.connect.core.grant_types import (
    AuthorizationCodeGrant,
    AuthorizationCodeGrantDispatcher,
    AuthorizationTokenGrantDispatcher,
    RefreshTokenGrant,
)

RESPONSE_TYPE = "code"
GRANT_TYPES = ("authorization_code", "refresh_token")
# What oauthlib's grants answer an error with; the endpoint's own refusals get the same.
_ERROR_HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}


def only_the_code_flow(request) -> dict:
    """pre_auth, after the client and its redirect_uri were checked: ``code`` only.

    (oauthlib's own check lets any response type that contains "code" through.)
    """
    if request.response_type is not None and request.response_type != RESPONSE_TYPE:
        raise errors.UnsupportedResponseTypeError(request=request)
    return {}


class Server(
    AuthorizationEndpoint, TokenEndpoint, ResourceEndpoint, RevocationEndpoint, UserInfoEndpoint
):
    """OAUTH2_SERVER_CLASS: the authorization code flow with refresh tokens, and no more."""

    def __init__(
        self,
        request_validator,
        token_expires_in=None,
        token_generator=None,
        refresh_token_generator=None,
        **_device_flow_settings: object,  # django-oauth-toolkit passes them; no device flow
    ) -> None:
        validators = {
            "pre_auth": [only_the_code_flow],
            "pre_token": [request_validator.refuse_unregistered_grant],
        }
        oauth_code = OAuth2CodeGrant(request_validator, **validators)
        openid_code = AuthorizationCodeGrant(request_validator, **validators)
        refresh = RefreshTokenGrant(
            request_validator, pre_token=[request_validator.refuse_unregistered_grant]
        )
        bearer = BearerToken(
            request_validator, token_generator, token_expires_in, refresh_token_generator
        )
        AuthorizationEndpoint.__init__(
            self,
            default_response_type=RESPONSE_TYPE,
            default_token_type=bearer,
            response_types={
                RESPONSE_TYPE: AuthorizationCodeGrantDispatcher(
                    default_grant=oauth_code, oidc_grant=openid_code
                )
            },
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            default_token_type=bearer,
            grant_types={
                "authorization_code": AuthorizationTokenGrantDispatcher(
                    request_validator, default_grant=oauth_code, oidc_grant=openid_code
                ),
                "refresh_token": refresh,
            },
        )
        ResourceEndpoint.__init__(
            self,
            default_token="Bearer",  # noqa: S106 (the token type's name, not a secret)
            token_types={"Bearer": bearer},
        )
        RevocationEndpoint.__init__(self, request_validator)
        UserInfoEndpoint.__init__(self, request_validator)

    def create_token_response(self, uri, http_method="POST", body=None, headers=None, *a, **kw):
        try:
            return super().create_token_response(uri, http_method, body, headers, *a, **kw)
        except errors.OAuth2Error as error:  # refused before any grant saw it: JSON all the same
            return {**_ERROR_HEADERS, **error.headers}, error.json, error.status_code

    def validate_token_request(self, request) -> None:
        """Before anything else: a grant type twofold doesn't offer is refused, one way."""
        super().validate_token_request(request)  # a POST with a form body
        if request.grant_type not in GRANT_TYPES:
            raise errors.UnsupportedGrantTypeError(request=request)

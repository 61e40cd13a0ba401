"""The RS256 keys from configuration as JSON Web Keys: the first signs, every one verifies."""

from __future__ import annotations

import json

from jwcrypto import jwk
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem


def verifying_keys() -> jwk.JWKSet:
    """Every configured key (the signing one and those rotated out), each under its kid.

    The kid is the key's thumbprint, as django-oauth-toolkit puts it in token headers
    and in the JWKS.
    """
    keys = jwk.JWKSet()
    for pem in (
        oauth2_settings.OIDC_RSA_PRIVATE_KEY,
        *oauth2_settings.OIDC_RSA_PRIVATE_KEYS_INACTIVE,
    ):
        key = jwk_from_pem(pem)
        keys.add(jwk.JWK(**{**json.loads(key.export_public()), "kid": key.thumbprint()}))
    return keys

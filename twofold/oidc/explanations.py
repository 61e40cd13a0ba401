"""What an OAuth/OpenID Connect error code means, said to the person who sees the error page.

The protocol's own ``error_description`` (oauthlib's, or ours in views.py) is for the
client application's developers and stays English, as the protocol sends it; the page a
person reads explains the code in their language instead.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

_EXPLANATIONS: dict[str, Promise] = {
    "invalid_request": _("The application's sign-in request is incomplete or malformed."),
    "invalid_client": _("twofold doesn't know the application that sent you here."),
    "unauthorized_client": _("This application isn't allowed to sign people in this way."),
    "access_denied": _("The sign-in to this application was refused."),
    "unsupported_response_type": _(
        "The application asked for a kind of answer that twofold doesn't give."
    ),
    "invalid_scope": _("The application asked for access that twofold doesn't grant."),
    "server_error": _("twofold ran into a problem with this sign-in request."),
    "temporarily_unavailable": _(
        "twofold can't handle this sign-in request right now. Try again in a moment."
    ),
    "login_required": _(
        "The application needs you to be signed in, but asked twofold not to show the sign-in page."
    ),
    "consent_required": _(
        "The application needs your consent, but asked twofold not to ask you for it."
    ),
    "interaction_required": _(
        "The application needs you to confirm it's you, but asked twofold not to show any page."
    ),
    "account_selection_required": _(
        "The application needs you to choose an account, but asked twofold not to show any page."
    ),
    "invalid_request_uri": _(
        "The application pointed to a sign-in request that twofold can't read."
    ),
    "invalid_request_object": _("The application sent a sign-in request that twofold can't read."),
    "request_not_supported": _(
        "The application sent its request in a form twofold doesn't support."
    ),
    "request_uri_not_supported": _(
        "The application sent its request in a form twofold doesn't support."
    ),
    "unmet_authentication_requirements": _(
        "The application asked for a way of confirming it's you that you haven't set up."
    ),
}
_GENERIC = _("The application asked for something that twofold can't do.")


def explain(code: str) -> str:
    """The meaning of an error ``code`` in the reader's language; a general one if unknown."""
    return str(_EXPLANATIONS.get(code, _GENERIC))

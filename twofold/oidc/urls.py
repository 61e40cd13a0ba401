"""The OpenID Connect provider's endpoints, at the root of the site (the issuer).

/.well-known/openid-configuration   discovery
/.well-known/jwks.json              the keys that verify ID tokens (rotated ones too)
/oauth2/authorize                   sign-in for an application (code flow, PKCE)
/oauth2/authorize/continue          back from twofold's sign-in or step-up pages
/oauth2/token                       codes and refresh tokens for tokens (no other grant)
/oauth2/userinfo                    the user's claims, for an access token
/oauth2/revoke                      an application gives a token back
/oauth2/logout                      RP-initiated logout
"""

from django.urls import include, path, re_path
from oauth2_provider import views as toolkit

from twofold.oidc import views

# Under django-oauth-toolkit's namespace: its discovery and issuer code reverse these names.
provider = [
    re_path(
        r"^\.well-known/openid-configuration$",
        views.DiscoveryView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(".well-known/jwks.json", toolkit.JwksInfoView.as_view(), name="jwks-info"),
    path("oauth2/authorize", views.AuthorizeView.as_view(), name="authorize"),
    path("oauth2/token", views.TokenView.as_view(), name="token"),
    path("oauth2/userinfo", views.UserInfoView.as_view(), name="user-info"),
    path("oauth2/revoke", views.RevokeTokenView.as_view(), name="revoke-token"),
    path("oauth2/logout", views.LogoutView.as_view(), name="rp-initiated-logout"),
]

urlpatterns = [
    path("", include((provider, "oauth2_provider"))),
    path("oauth2/authorize/continue", views.continue_authorization, name="oidc-continue"),
]

"""The project's URL map, plus the activation page while ``twofold.urls`` doesn't include it.

``twofold/urls.py`` is outside this package; once it includes ``twofold.methods.oath.urls``
under ``account/security-verification/hardware-token/`` the addition below vanishes.
"""

from django.urls import NoReverseMatch, include, path, reverse

from twofold.urls import urlpatterns as project_urlpatterns

ROUTE = "account/security-verification/hardware-token/"


def _wired() -> bool:
    try:
        reverse("hardware-token-activate", args=[1], urlconf="twofold.urls")
    except NoReverseMatch:
        return False
    return True


urlpatterns = [
    *project_urlpatterns,
    *([] if _wired() else [path(ROUTE, include("twofold.methods.oath.urls"))]),
]

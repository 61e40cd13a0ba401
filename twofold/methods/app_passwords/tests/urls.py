"""The project's URL map, plus stand-ins for pages other packages own, while they don't exist.

These tests only check that they are sent to the settings page or the step-up page, never
what those pages show; once the real pages are in ``twofold.urls`` the stand-ins vanish.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from twofold.urls import urlpatterns as project_urlpatterns


def _stand_in(request: HttpRequest) -> HttpResponse:
    return HttpResponse("stand-in")


_OWNED_ELSEWHERE = {
    "security-verification": "account/security-verification",
    "step-up": "account/verify",
}
_PRESENT = {getattr(pattern, "name", None) for pattern in project_urlpatterns}

urlpatterns = [
    *project_urlpatterns,
    *(
        path(route, _stand_in, name=name)
        for name, route in _OWNED_ELSEWHERE.items()
        if name not in _PRESENT
    ),
]

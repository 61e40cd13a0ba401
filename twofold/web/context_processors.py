from django.http import HttpRequest
from django.utils import timezone


def twofold(request: HttpRequest) -> dict[str, object]:
    """What every page's frame needs: the correlation ID (and the time, for failure notices'
    help-desk details) and the viewer's organisation."""
    user = getattr(request, "user", None)
    return {
        "correlation_id": getattr(request, "correlation_id", ""),
        "utc_time": timezone.now(),
        "viewer_organisation": user.organisation
        if user is not None and user.is_authenticated
        else None,
    }

from django.http import HttpRequest


def twofold(request: HttpRequest) -> dict[str, object]:
    """What every page's frame needs: the correlation ID and the viewer's organisation."""
    user = getattr(request, "user", None)
    return {
        "correlation_id": getattr(request, "correlation_id", ""),
        "viewer_organisation": user.organisation
        if user is not None and user.is_authenticated
        else None,
    }

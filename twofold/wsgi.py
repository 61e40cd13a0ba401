"""The WSGI application that gunicorn serves (``twofold serve``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twofold.settings")
application = get_wsgi_application()

# Imported once Django is set up (they read translations and settings).
from twofold.administration import importing  # noqa: E402
from twofold.adminportal import uploads  # noqa: E402
from twofold.api import errors  # noqa: E402
from twofold.core.bodies import ChunkedBodies  # noqa: E402

# The largest body each part accepts: the API's, else the largest upload (the user
# import's file in its form). A chunked body is read up to its path's limit plus a byte.
BODY_LIMITS = (
    ("/api/", errors.MAX_BODY_BYTES),
    ("/", importing.MAX_BYTES + uploads.ENVELOPE_BYTES),
)
application = ChunkedBodies(application, BODY_LIMITS)

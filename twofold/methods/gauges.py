"""The gauges /metrics reads from the database at each scrape: challenges and queued notices.

They count rows of this package (challenges, reset notices), so they live here and
``MethodsConfig.ready`` hands them to ``core.metrics``, which knows nothing above ``core``
(docs/design.md, "Packages and the direction of their imports").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from twofold.core import dependencies
from twofold.core.metrics import dependency_error
from twofold.methods.models import Challenge, ChallengeState, ResetNotice


class DatabaseGauges:
    """Challenges by state (opened in the last hour) and queued notices, read at scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            since = timezone.now() - timedelta(hours=1)
            rows = Challenge.objects.filter(created_at__gte=since).values("state")
            counts = {row["state"]: row["n"] for row in rows.annotate(n=Count("pk"))}
            queued = ResetNotice.objects.count()
        except dependencies.DATABASE_ERRORS:
            dependency_error("database")
            return
        states = GaugeMetricFamily(
            "twofold_challenges",
            "Challenges opened in the last hour, by their state now.",
            labels=["state"],
        )
        for state in ChallengeState.values:
            states.add_metric([state], counts.get(state, 0))
        yield states
        yield GaugeMetricFamily(
            "twofold_queued_notices", "Texts still owed to users (reset notices).", value=queued
        )

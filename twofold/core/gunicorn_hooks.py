"""gunicorn's configuration hooks for ``twofold serve`` (``--config python:...``)."""

from __future__ import annotations

import os

from twofold.core.metrics import MULTIPROCESS_ENV


def child_exit(server: object, worker: object) -> None:
    """A worker is gone: its live gauges leave the metrics (its counters stay counted)."""
    if os.environ.get(MULTIPROCESS_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

"""gunicorn's configuration hooks for ``twofold serve`` (``--config python:...``)."""

from __future__ import annotations

from twofold.config import metrics_folder


def child_exit(server: object, worker: object) -> None:
    """A worker is gone: its live gauges leave the metrics (its counters stay counted)."""
    if metrics_folder():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

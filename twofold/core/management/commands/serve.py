"""Serve twofold with gunicorn."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from twofold.config import CONFIG, share_metrics_in


class Command(BaseCommand):
    help = "Serve twofold with gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=0, help="default: one per core with a shared cache"
        )

    def handle(self, *args: object, host: str, port: int, workers: int, **options: object) -> None:
        shared_cache = "locmem" not in settings.CACHES["default"]["BACKEND"]
        # Rate limits and lockout counters live in the cache. A local-memory cache is per
        # process, so without Redis one process with threads keeps the counters exact.
        if not workers:
            workers = (os.cpu_count() or 1) if shared_cache else 1
        elif workers > 1 and not shared_cache:
            self.stderr.write("Several workers need REDIS_URL (a shared cache); serving with one.")
            workers = 1
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        _metrics_folder(CONFIG.data_dir, host, port)
        self.stdout.write(f"twofold is listening on http://{bind}/ ({workers} worker(s))")
        self.stdout.flush()
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "twofold.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "--worker-class",  # gthread, answering its own errors in JSON (web/worker.py)
            "twofold.web.worker.JsonErrorWorker",
            "--threads",
            "8",
            "--graceful-timeout",
            "10",
            "--forwarded-allow-ips",
            "127.0.0.1,::1",
            "--config",
            "python:twofold.core.gunicorn_hooks",
        ]
        if settings.TWOFOLD["log_file"]:
            # twofold's lines go to the log file; gunicorn's own start-up lines (INFO) are
            # dropped with them, its warnings and errors still reach the terminal.
            argv += ["--log-level", "warning"]
        os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with gunicorn


def _metrics_folder(data_dir: Path, host: str, port: int) -> None:
    """Prometheus's multiprocess mode (core/metrics.py): every worker's counters in files
    of a folder of this server's own (two servers may share a data folder), emptied at
    start so that a previous run's counts are not added again."""
    folder = Path(data_dir) / "metrics" / f"{host.replace(':', '_')}-{port}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    share_metrics_in(folder)

"""``twofold radius``: answer RADIUS Access-Requests on UDP (docs/radius.md)."""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandParser

from twofold.radius import server


class Command(BaseCommand):
    help = "Answer RADIUS authentication (RFC 2865, PAP) on UDP."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1812)
        parser.add_argument(
            "--workers",
            type=int,
            default=server.WORKERS,
            help="threads that check requests (each may wait on the database or a gateway)",
        )
        # `twofold demo`: stop when the web server that started this process is gone.
        parser.add_argument("--with-parent", type=int, default=0, help=argparse.SUPPRESS)

    def handle(
        self, *args: object, host: str, port: int, workers: int, with_parent: int, **options: object
    ) -> None:
        front = server.Server(host, port, workers=workers)
        signal.signal(signal.SIGTERM, lambda *_: front.stop())
        thread = front.start_in_thread()
        if with_parent:
            threading.Thread(target=_stop_without, args=(with_parent, front), daemon=True).start()
        where = f"[{host}]:{front.port}" if ":" in host else f"{host}:{front.port}"
        self.stdout.write(f"twofold radius is listening on udp://{where}")
        self.stdout.flush()
        try:
            thread.join()
        except KeyboardInterrupt:
            front.stop()
            thread.join(timeout=5)


def _stop_without(parent: int, front: server.Server) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    front.stop()

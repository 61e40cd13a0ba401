"""``twofold radius``: an asyncio UDP loop that hands each datagram to a thread pool.

The loop itself only receives and sends: finding the client, checking the packet and
answering it (database, cache, a gateway that texts) run in the pool, so a slow gateway
holds up one worker, never the others nor the loop. Datagrams beyond MAX_PENDING waiting
ones are dropped (the gateway retransmits). What is dropped without an answer
(docs/radius.md): anything that is not an authentic Access-Request of a known client,
audited at a bounded rate per source; and a duplicate of a request still being answered.
A duplicate of one answered (same client, source port, identifier and authenticator,
within DUPLICATE_SECONDS) gets the same reply from the shared cache, never a second
verification, whichever process of several received it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from django.core.cache import cache
from django.db import close_old_connections, connections

from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record_at_most
from twofold.core import context, crypto, dependencies
from twofold.core.ratelimit import Limit
from twofold.radius import answers, clients, codec

log = logging.getLogger(__name__)

DUPLICATE_SECONDS = 15
MAX_PENDING = 256
WORKERS = 16
#: Dropped packets are audited at most this often per source address.
DROPS_AUDITED = Limit("radius-dropped", 5, 60)
_PENDING = b"pending"


def _dropped(client: clients.RadiusClient | None, source: str, reason: str) -> None:
    token = context.activate(context.RequestContext(client_address=source))
    try:
        record_at_most(
            DROPS_AUDITED,
            AuditAction.RADIUS_DROPPED,
            AuditResult.DENIED,
            organisation=client.organisation if client else None,
            actor_label=client.label if client else "radius:unknown",
            reason=reason,
        )
    finally:
        context.deactivate(token)


def _duplicate_key(client: clients.RadiusClient, source: str, port: int, data: bytes) -> str:
    header = codec.header(data)
    said = f"{client.pk}|{source}|{port}|{header.identifier}|{header.authenticator.hex()}"
    return "radius-reply:" + crypto.keyed_digest(said, "radius-duplicate")


def handle(data: bytes, source: str, port: int) -> bytes | None:
    """The reply to one datagram, or None to stay silent. Runs in a worker thread."""
    close_old_connections()
    try:
        return _handle(data, source, port)
    finally:
        close_old_connections()


def _handle(data: bytes, source: str, port: int) -> bytes | None:
    client = clients.for_source(source)
    if client is None:
        _dropped(None, source, "unknown source")
        return None
    try:
        request = codec.decode(data, clients.secret_of(client))
    except codec.Malformed as malformed:
        _dropped(client, source, str(malformed))
        return None
    key = _duplicate_key(client, source, port, data)
    if not cache.add(key, _PENDING, timeout=DUPLICATE_SECONDS):
        cached = cache.get(key)
        return None if cached in (None, _PENDING) else cached
    answered = False
    try:
        reply = answers.respond(client, request, source)
        cache.set(key, reply, timeout=DUPLICATE_SECONDS)
        answered = True
        return reply
    finally:
        if not answered:  # not decided: a retransmission may try again
            cache.delete(key)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, pool: ThreadPoolExecutor, handler: Callable[..., bytes | None]) -> None:
        self.pool = pool
        self.handler = handler
        self.pending = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if not codec.HEADER <= len(data) <= codec.MAX_PACKET or self.pending >= MAX_PENDING:
            return
        self.pending += 1
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.pool, self.handler, data, addr[0], addr[1])
        future.add_done_callback(partial(self._done, addr))

    def _done(self, addr: tuple, future: Future) -> None:
        self.pending -= 1
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            down = dependencies.unavailable(error)
            if down is not None:  # no answer: the gateway asks its other RADIUS server
                dependencies.report(down, error, "radius")
            else:
                log.error("RADIUS request failed", exc_info=error)
            return
        reply = future.result()
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class Server:
    """The RADIUS front on one UDP address; ``serve`` runs it until ``stop``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1812,
        *,
        workers: int = WORKERS,
        handler: Callable[..., bytes | None] = handle,
    ) -> None:
        self.host, self.port = host, port
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="radius")
        self.handler = handler
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        transport, _protocol = await self._loop.create_datagram_endpoint(
            lambda: _Protocol(self.pool, self.handler), local_addr=(self.host, self.port)
        )
        self.port = transport.get_extra_info("sockname")[1]  # the one chosen, for port 0
        self.ready.set()
        try:
            await self._stopped.wait()
        finally:
            transport.close()

    def serve(self) -> None:
        try:
            asyncio.run(self._serve())
        finally:
            self._close_connections()
            self.pool.shutdown(wait=False, cancel_futures=True)

    def _close_connections(self) -> None:
        """Close each worker's database connections (they are per thread): one task per
        worker, held at a barrier so that every thread runs one."""
        workers = self.pool._max_workers
        barrier = threading.Barrier(workers, timeout=5)

        def close() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):  # a worker still busy
                barrier.wait()
            connections.close_all()

        for done in [self.pool.submit(close) for _ in range(workers)]:
            with contextlib.suppress(TimeoutError):
                done.result(timeout=10)

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)

    def start_in_thread(self) -> threading.Thread:
        """Serve in a background thread (the demo, the tests); returns once listening."""
        thread = threading.Thread(target=self.serve, name="radius-server", daemon=True)
        thread.start()
        if not self.ready.wait(timeout=10):
            raise RuntimeError("the RADIUS server did not start")
        return thread

"""A Daphne worker told to stop (SIGTERM) drains instead of dropping everything.

Daphne on its own stops the reactor at once: requests still in a view are cancelled (the client sees a
reset connection) and sockets are cut without a close frame, so a kitchen screen sees 1006 and learns
nothing. Here SIGTERM instead:
1. stops listening, so the proxy's next connection is refused and goes to another worker (nginx's
   `proxy_next_upstream error` passes even a POST on, since nothing was sent);
2. closes every open WebSocket with 1001 "going away", so screens reconnect through the proxy to a worker
   that stays (kds.js and live.js reconnect on any close but "not yours");
3. waits, at most SHUTDOWN_GRACE_S seconds, for the requests already in a view to send their answer and
   for the sockets' close handshakes, then lets Daphne stop (it cancels whatever is left).
A second SIGTERM, or SIGINT, stops at once as before. An order being written when the signal comes is
finished inside the grace time or, if cancelled, rolled back with its transaction: never half-written.

`GracefulShutdown` is the ASGI wrapper (orderahead/asgi.py) that counts requests and sockets;
`install_on_daphne` hooks SIGTERM once Daphne's reactor runs (Twisted installs its own handler as the
reactor starts, so ours replaces it right after). The 1001 goes straight to each socket's protocol:
an ASGI `websocket.close` cannot carry it, because Autobahn lets applications close only with 1000 or
3000-4999.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

logger = logging.getLogger(__name__)

GOING_AWAY = 1001  # RFC 6455: the endpoint is going away (server going down)


class GracefulShutdown:
    """ASGI middleware: how many HTTP requests and WebSockets are in the app right now. A socket counts
    until its consumer returns, i.e. after the close handshake, so a drain waits for the close frame to
    reach the screen instead of cutting it off with the process."""

    def __init__(self, app):
        self.app = app
        self.requests_in_flight = 0
        self.sockets_open = 0
        self.draining = False

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        self._count(kind, +1)
        try:
            return await self.app(scope, receive, send)
        finally:
            self._count(kind, -1)

    def _count(self, kind: str, step: int) -> None:
        if kind == "http":
            self.requests_in_flight += step
        else:
            self.sockets_open += step

    def idle(self) -> bool:
        return not (self.requests_in_flight or self.sockets_open)

    async def drain(self, close_sockets, grace_s: float) -> bool:
        """Close the sockets (`close_sockets()` closes those open now and says how many), then wait up to
        `grace_s` for the requests in the app to answer and the sockets to finish closing. True when
        nothing was left."""
        self.draining = True
        requests = self.requests_in_flight
        closed = close_sockets()
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not self.idle() and loop.time() - started < grace_s:
            await asyncio.sleep(0.02)
            closed += close_sockets()  # one whose handshake was under way when the drain began
        logger.info("shutdown: %d sockets closed with 1001, %d requests were in flight; after %.2f s "
                    "%d sockets and %d requests left", closed, requests, loop.time() - started,
                    self.sockets_open, self.requests_in_flight)
        return self.idle()


def _listening_ports(reactor) -> list:
    from twisted.internet import tcp

    return [reader for reader in reactor.getReaders() if isinstance(reader, tcp.Port)]


def _close_open_websockets(reactor) -> int:
    """Send 1001 to every WebSocket of this Daphne that is open; how many."""
    from daphne.ws_protocol import WebSocketProtocol

    closed = 0
    for reader in reactor.getReaders():
        protocol = getattr(reader, "protocol", None)
        if isinstance(protocol, WebSocketProtocol) and protocol.state == WebSocketProtocol.STATE_OPEN:
            protocol.sendCloseFrame(code=GOING_AWAY, reasonUtf8=b"server going away", isReply=False)
            closed += 1
    return closed


def install_on_daphne(app: GracefulShutdown, grace_s: float) -> bool:
    """Make SIGTERM drain `app` before Daphne stops. Does nothing outside Daphne (no Twisted reactor
    installed, as in tests and manage.py); True when hooked."""
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None:
        return False

    async def drain_then_stop():
        for port in _listening_ports(reactor):
            port.stopListening()
        try:
            await app.drain(lambda: _close_open_websockets(reactor), grace_s)
        finally:
            if reactor.running:
                reactor.stop()

    def on_sigterm(signum, frame):
        if app.draining:  # told twice: stop now
            reactor.callFromThread(reactor.stop)
            return
        app.draining = True
        logger.info("SIGTERM: draining (grace %.1f s)", grace_s)
        reactor.callFromThread(lambda: asyncio.ensure_future(drain_then_stop()))

    reactor.callWhenRunning(signal.signal, signal.SIGTERM, on_sigterm)
    return True

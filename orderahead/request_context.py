"""Each request's id, its log line and its metrics.

The id is nginx's `X-Request-ID` when the request came from one of TRUSTED_PROXIES (so nginx's access
log and the app's lines share it), otherwise a new one: a client must not choose the id its lines are
filed under. It is bound to every log line made while the request is served (orderahead.logs), set on
the request as `request.request_id`, and sent back in the response's `X-Request-ID`.

One line per request (`request_finished`: method, path, URL route name, status, duration, client), and
the request counter and latency histogram by route name (orderahead.metrics). Health checks and scrapes
are counted but logged only at DEBUG, so they do not drown the log.

A WebSocket gets an id the same way when it connects (`bind_socket_context`); it stays bound for every
line the socket's consumer logs.
"""

import re
import time
import uuid

import structlog
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from structlog.contextvars import bind_contextvars, clear_contextvars

from orderahead import metrics
from orderahead.client_ip import client_ip, is_trusted_proxy

HEADER = "X-Request-ID"
# nginx's $request_id is 32 hex digits; other proxies use UUIDs. Anything else (or longer) is not kept,
# so a header cannot smuggle a fake log line or an endless string into the logs.
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")
QUIET_ENDPOINTS = frozenset({"healthz", "readyz", "metrics"})

log = structlog.get_logger("orderahead.request")


def request_id_from(*, peer: str, offered: str | None) -> str:
    """The id offered by a trusted proxy, or a new one."""
    if offered and _VALID_ID.match(offered) and is_trusted_proxy(peer):
        return offered
    return uuid.uuid4().hex


def endpoint_of(request) -> str:
    """The URL route's name (with its namespace, e.g. `admin:index`), never the raw path, so a metric has
    one series per route however many orders or stores there are."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"  # answered before routing (a redirect to HTTPS) or by no route (404)


class RequestContextMiddleware:
    """First in MIDDLEWARE, so its id and timing cover every other middleware, redirects included."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        started = self._start(request)
        response = self.get_response(request)
        return self._finish(request, response, started)

    async def _acall(self, request):
        started = self._start(request)
        response = await self.get_response(request)
        return self._finish(request, response, started)

    @staticmethod
    def _start(request) -> float:
        request.request_id = request_id_from(peer=request.META.get("REMOTE_ADDR") or "",
                                             offered=request.headers.get(HEADER))
        # Left bound after the response: Django logs a 4xx/5xx after the middleware returns. Under ASGI each
        # request has a context of its own; a thread that serves requests one after another starts clean.
        clear_contextvars()
        bind_contextvars(request_id=request.request_id)
        return time.perf_counter()

    @staticmethod
    def _finish(request, response, started: float):
        seconds = time.perf_counter() - started
        endpoint = endpoint_of(request)
        response[HEADER] = request.request_id
        metrics.HTTP_REQUESTS.labels(endpoint, metrics.method_label(request.method), str(response.status_code)).inc()
        metrics.HTTP_REQUEST_SECONDS.labels(endpoint).observe(seconds)
        (log.debug if endpoint in QUIET_ENDPOINTS else log.info)(
            "request_finished", method=request.method, path=request.path, endpoint=endpoint,
            status=response.status_code, duration_ms=round(seconds * 1000, 1), client_ip=client_ip(request))
        return response


def bind_socket_context(scope, **fields) -> str:
    """Bind a request id (and `fields`) for the rest of a WebSocket connection's task; returns the id."""
    peer = (scope.get("client") or ("",))[0] or ""
    offered = dict(scope.get("headers") or ()).get(HEADER.lower().encode(), b"").decode("latin-1")
    request_id = request_id_from(peer=peer, offered=offered or None)
    bind_contextvars(request_id=request_id, **fields)
    return request_id

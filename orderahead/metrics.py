"""Every Prometheus metric of the service, and `/metrics`, which shows them.

Production runs several Daphne workers. With PROMETHEUS_MULTIPROC_DIR set (before the process starts:
prometheus-client picks its storage at import), each worker writes its values to files in that shared
directory and `/metrics`, whichever worker answers, reports the sum over all of them. The directory must
be emptied when the whole set starts (not when one worker restarts, or its counts would be lost).
Without it (`make run`, tests) the values live in the process.

Who may read `/metrics`: a client on this machine or one of TRUSTED_PROXIES (as orderahead.client_ip
sees it, so an outside client relayed by nginx is still outside), or anyone sending
`Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set. Everyone else gets 403.

Apps import this module to count, so it imports no app (tests/test_import_boundaries.py).
"""

import glob
import hmac
import ipaddress
import os
import re

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from orderahead.api_errors import json_error
from orderahead.client_ip import client_ip, is_trusted_proxy

FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter("orderahead_http_requests_total",
                        "HTTP requests answered, by URL route name (not the raw path), method and status.",
                        ["endpoint", "method", "status"])
HTTP_REQUEST_SECONDS = Histogram("orderahead_http_request_duration_seconds",
                                 "Time from a request reaching Django to its response, by URL route name.",
                                 ["endpoint"], buckets=REQUEST_BUCKETS)
ORDERS_PLACED = Counter("orderahead_orders_placed_total",
                        "Order placements by channel and outcome: created, replayed (same idempotency key), "
                        "refused (a domain error the client is told) or failed (an unexpected error).",
                        ["channel", "outcome"])
ORDER_PLACE_SECONDS = Histogram("orderahead_order_place_duration_seconds",
                                "Time to place an order (price, quote, stock, re-plan, card authorisation).",
                                ["channel"], buckets=REQUEST_BUCKETS)
ORDER_MOVES = Counter("orderahead_order_moves_total", "Committed order state changes, by the state entered.",
                      ["to_status"])
KITCHEN_SOCKETS = Gauge("orderahead_kitchen_sockets_open", "Kitchen screen sockets open, by screen kind.",
                        ["screen"], multiprocess_mode="livesum")
OUTBOX_PUSH_DELAY_SECONDS = Histogram(
    "orderahead_outbox_push_delay_seconds",
    "Time from a store event's write (in its transaction) to its push to the store's screens.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
OUTBOX_LOST_PUSHES = Counter("orderahead_outbox_lost_pushes_total",
                             "Screens found behind their store's events a poll after the push was due, and "
                             "nudged to read the outbox (a push that was lost).")
SCHEDULER_REPLAN_SECONDS = Histogram("orderahead_scheduler_replan_duration_seconds",
                                     "Time to re-plan one store's kitchen and write the plan back.",
                                     buckets=FAST_BUCKETS)
SCHEDULER_QUOTE_SECONDS = Histogram("orderahead_scheduler_quote_duration_seconds",
                                    "Time for the scheduler to quote a new order's ready time and slots.",
                                    buckets=FAST_BUCKETS)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """Clients choose the method: anything unusual is one label, so they cannot make new series."""
    return method if method in METHODS else "other"


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def _forget_dead_workers(path: str) -> None:
    """A worker killed without warning leaves its live gauges' files behind (its open sockets would be
    counted forever); workers share one machine, so a pid that no longer runs is a dead worker."""
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        match = _LIVE_GAUGE_FILE.search(name)
        if match and not _pid_alive(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exposition() -> bytes:
    """The metrics in Prometheus' text format: all workers' sum in multiprocess mode, else this process's."""
    path = multiprocess_dir()
    if not path:
        return generate_latest(REGISTRY)
    _forget_dead_workers(path)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    return generate_latest(registry)


def scrape_allowed(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    offered = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    client = client_ip(request)  # already IPv4 for an IPv4-mapped address
    try:
        loopback = ipaddress.ip_address(client).is_loopback
    except ValueError:
        return False
    return loopback or is_trusted_proxy(client)


@never_cache
@require_GET
def metrics_view(request):
    if not scrape_allowed(request):
        return json_error("forbidden", "Metrics are for this machine, the trusted proxies, or a client with "
                          "the metrics token.", 403)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)

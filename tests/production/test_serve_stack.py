"""The production stack as `make serve` runs it, end to end: nginx in front of two Daphne workers on a fresh
PostgreSQL database and a Redis database of its own. Through nginx: /readyz names every check and all pass,
an order placed through the API reaches a kitchen screen's socket (opened through nginx too, so its worker
may not be the one that took the order), nginx serves the collected static files itself, and the app logs
and answers under nginx's request id."""

import json
import time
import uuid

import pytest
from websockets.sync.client import connect

from tests.live_server import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

SEED = """
import json
from stores.models import StoreMembership
from tests import factories
store = factories.open_store(name="Stack Store", slug="stack-store", timezone=factories.midday_timezone())
menu = factories.coffee_menu(store)
factories.user("stack_customer")
factories.staff("stack_barista", store, StoreMembership.BARISTA)
print(json.dumps({"store": store.pk, "latte": menu["latte"].pk, "drip": menu["drip"].pk}))
"""


def _ticket_for(socket, order_id: int, status: str, timeout: float = 20) -> dict:
    """Read the kitchen socket until the ticket of `order_id` in `status` arrives (in a snapshot or an event)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        tickets = message.get("tickets", []) + [event["ticket"] for event in message.get("events", [])
                                                if "ticket" in event]
        for ticket in tickets:
            if (ticket["id"], ticket["status"]) == (order_id, status):
                return ticket
    raise AssertionError(f"order {order_id} never reached the kitchen screen as {status}")


def test_an_order_through_nginx_reaches_a_kitchen_screen_on_two_workers(make_stack, fresh_postgres_url,
                                                                         stack_redis_url):
    stack = make_stack(workers=2, database_url=fresh_postgres_url, redis_url=stack_redis_url)

    ready = stack.wait_ready()
    assert ready["status"] == "ready"
    assert ready["checks"] == {name: {"ok": True} for name in ("database", "migrations", "redis", "scheduler")}

    ids = stack.seed(SEED)
    token = stack.api_token("stack_customer")
    screen = f"{stack.ws_url}/ws/kds/{ids['store']}/expo/"
    with connect(screen, origin=stack.url, additional_headers={"Cookie": stack.session_cookie("stack_barista")},
                 open_timeout=10) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "snapshot"

        items = [{"item": ids["latte"], "quantity": 1}, {"item": ids["drip"], "quantity": 2}]
        status, order, headers = stack.request("POST", "/api/orders/", {"store": ids["store"], "items": items,
                                                                        "pickup": "asap"},
                                               token=token, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert status == 201, order
        assert order["status"] == "confirmed"
        ticket = _ticket_for(socket, order["id"], "confirmed")
        assert len(ticket["lines"]) == 2

    # nginx's request id reached the app: the app adopts an id only from a trusted proxy (else it makes one),
    # answers with it, and logs the request under it.
    placed = next(line for line in reversed(stack.access_log())
                  if line["method"] == "POST" and line["uri"] == "/api/orders/")
    assert headers["X-Request-ID"] == placed["request_id"]
    assert placed["upstream"] in {f"127.0.0.1:{worker.port}" for worker in stack.workers}
    assert any(placed["request_id"] in stack.worker_log(worker.index) for worker in stack.workers)

    # Static files: collected, and served by nginx itself (no upstream in its log line).
    status, _, headers = stack.request("GET", "/static/kitchen_display/kds.js")
    assert status == 200
    assert headers["X-Content-Type-Options"] == "nosniff"
    served = stack.access_log()[-1]
    assert (served["uri"], served["upstream"]) == ("/static/kitchen_display/kds.js", "")
    assert (ROOT / "staticfiles" / "kitchen_display" / "kds.js").exists()

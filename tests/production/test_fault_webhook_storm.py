"""A storm of Stripe webhooks against three Daphne workers behind nginx: every event delivered several times,
in shuffled order, from many threads at once, while customers refresh their payment and baristas hand orders
over (two scans of the same order at once), and with forged deliveries mixed in.

The workers' Stripe gateway talks to the Stripe double running in this process. When a handoff captures a
payment, the double at once starts delivering `payment_intent.succeeded` (and `charge.captured`), as Stripe
does, so those copies race the worker that is still recording its own capture; for every other capture the
double holds its answer until the first `succeeded` has been answered, so the webhook lands first.

At the end, in the database and at "Stripe": each order moved pending_payment -> confirmed once and
ready -> picked_up at most once, its payment authorised once and captured at most once for the full amount,
one capture call per handed-over intent and none for the others, one webhook row per event id and none for
a forged one, forged deliveries refused with 400 and changing nothing, and no 5xx in nginx's access log.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import pytest
from websockets.sync.client import connect

from tests.payments.stripe_double import StripeDouble, signed_event
from tests.production.faults import CROISSANT_STOCK, seed_shop

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

WEBHOOK_SECRET = "whsec_storm_test"
WEBHOOK_PATH = "/api/payments/stripe/webhook/"
ORDERS = 30             # paid with a card confirmed in the browser (at the double)
FORGED_ONLY = 3         # orders never paid, for which only forged "authorised" events arrive
HANDED_OVER = 20        # of the paid orders, handed over (and captured) while webhooks still arrive
COPIES = 3              # Stripe delivers each event this many times
SENDERS = 16            # threads delivering at once


@dataclass
class Delivery:
    """One HTTP request of the storm and its answer."""
    kind: str                     # "webhook", "forged", "refresh", "handoff"
    order_id: int
    event_id: str = ""
    status: int | None = None
    body: dict = field(default_factory=dict)


class Storm:
    """A pool of threads sending deliveries through nginx; every answer is kept."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.pool = ThreadPoolExecutor(max_workers=SENDERS)
        self.urgent = ThreadPoolExecutor(max_workers=4 * COPIES * HANDED_OVER)  # sent now, not queued
        self.futures = []
        self.done: list[Delivery] = []
        self._lock = threading.Lock()

    def submit(self, delivery: Delivery, path: str, data: bytes, headers: dict, *, now: bool = False):
        """Queue a delivery (or with `now`, send it at once on a thread of its own); its future."""
        future = (self.urgent if now else self.pool).submit(self._send, delivery, path, data, headers)
        self.futures.append(future)
        return future

    def _send(self, delivery: Delivery, path: str, data: bytes, headers: dict) -> None:
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                delivery.status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            delivery.status, raw = error.code, error.read()
        except OSError as error:
            delivery.status, raw = None, json.dumps({"error": str(error)}).encode()
        try:
            delivery.body = json.loads(raw) if raw else {}
        except ValueError:
            delivery.body = {"text": raw[:300].decode(errors="replace")}
        with self._lock:
            self.done.append(delivery)

    def finish(self, timeout: float = 180) -> list[Delivery]:
        """Wait for everything submitted so far (also what was submitted while waiting)."""
        deadline = time.monotonic() + timeout
        while True:
            pending = [future for future in self.futures if not future.done()]
            if not pending:
                break
            assert time.monotonic() < deadline, f"{len(pending)} deliveries still open"
            wait(pending, timeout=max(0.1, deadline - time.monotonic()))
        for future in self.futures:
            future.result()  # a bug in the sender shows here
        return self.done

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.urgent.shutdown(wait=True, cancel_futures=True)


def send_event(storm: Storm, order_id: int, event_type: str, obj: dict, event_id: str, *, copies: int,
               now: bool = False) -> list:
    """`copies` deliveries of one event, each signed on its own (as Stripe's retries are); their futures."""
    futures = []
    for _ in range(copies):
        payload, signature = signed_event(event_type, obj, secret=WEBHOOK_SECRET, event_id=event_id)
        futures.append(storm.submit(Delivery("webhook", order_id, event_id), WEBHOOK_PATH, payload,
                                    {"Stripe-Signature": signature}, now=now))
    return futures


def send_forged(storm: Storm, order_id: int, obj: dict, how: str) -> None:
    """An "authorised" event that Stripe did not send: signed with another secret, or altered after signing."""
    event_id = f"evt_forged_{how}_{order_id}"
    if how == "wrong-secret":
        payload, signature = signed_event("payment_intent.amount_capturable_updated", obj,
                                          secret="whsec_not_ours", event_id=event_id)
    else:  # altered: a real signature over a body whose amount was changed afterwards
        payload, signature = signed_event("payment_intent.amount_capturable_updated", obj,
                                          secret=WEBHOOK_SECRET, event_id=event_id)
        payload = payload.replace(f'"amount": {obj["amount"]}'.encode(), b'"amount": 1')
    storm.submit(Delivery("forged", order_id, event_id), WEBHOOK_PATH, payload, {"Stripe-Signature": signature})


class StormingStripe(StripeDouble):
    """The Stripe double, which on each capture at once starts delivering the events Stripe sends about it.
    Every other capture's answer is held until the first `payment_intent.succeeded` has been answered: Stripe's
    webhook can reach us before its answer to our own capture call does."""

    def __init__(self, api_key: str):
        super().__init__(api_key=api_key)
        self.storm: Storm | None = None
        self.order_of_intent: dict[str, int] = {}
        self.held_answers = 0
        self._held = threading.local()

    def _capture(self, intent: dict, params: dict) -> tuple[int, dict]:
        status, body = super()._capture(intent, params)
        if status == 200 and self.storm is not None:
            order_id = self.order_of_intent[intent["id"]]
            first, *_ = send_event(self.storm, order_id, "payment_intent.succeeded", dict(body),
                                   f"evt_succeeded_{order_id}", copies=COPIES, now=True)
            charge = {"id": body["latest_charge"], "object": "charge", "payment_intent": intent["id"],
                      "amount": body["amount"], "amount_captured": body["amount_received"], "captured": True}
            send_event(self.storm, order_id, "charge.captured", charge, f"evt_charge_captured_{order_id}",
                       copies=COPIES, now=True)
            if order_id % 2:
                self._held.until = first  # answered in _send, after the lock this runs under is let go
        return status, body

    def _send(self, handler, status: int, body: dict, replayed: bool = False) -> None:
        until = getattr(self._held, "until", None)
        if until is not None:
            self._held.until = None
            wait([until], timeout=30)
            self.held_answers += 1
        super()._send(handler, status, body, replayed=replayed)


@pytest.fixture
def stripe_double():
    double = StormingStripe(api_key="sk_test_storm").start()
    yield double
    double.stop()


def place_orders(stack, shop, count: int) -> list[dict]:
    """`count` mobile orders through nginx without a card: each waits for its payment, its intent at 'Stripe'."""
    def place(number: int) -> dict:
        store_index = number % len(shop.stores)
        menu = shop.menus[store_index]
        body = {"store": shop.stores[store_index], "pickup": "asap", "payment_method": "",
                "items": [{"item": menu["latte"], "quantity": 1 + number % 2},
                          {"item": menu["croissant"], "quantity": 1}]}
        customer = number % len(shop.tokens)
        status, answer, _ = stack.request("POST", "/api/orders/", body, token=shop.tokens[customer],
                                          headers={"Idempotency-Key": f"storm-checkout-{number}"})
        assert status == 201 and answer["status"] == "pending_payment", (status, answer)
        return {"id": answer["id"], "store": body["store"], "customer": customer}

    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(place, range(count)))


def bump_to_ready(stack, shop, orders: list[dict]) -> None:
    """The expo screen of each store (through nginx) bumps its orders: they go on the pickup shelf."""
    for store in shop.stores:
        with connect(f"{stack.ws_url}/ws/kds/{store}/expo/", origin=stack.url,
                     additional_headers={"Cookie": shop.screen_cookie}, open_timeout=10) as socket:
            for order in (order for order in orders if order["store"] == store):
                socket.send(json.dumps({"action": "bump_order", "order": order["id"], "ref": f"b{order['id']}"}))
                while True:
                    message = json.loads(socket.recv(timeout=30))
                    if message.get("ref") == f"b{order['id']}":
                        assert message["type"] == "ack", message
                        break


def pickup_code(stack, shop, order: dict) -> str:
    status, answer, _ = stack.request("GET", f"/api/orders/{order['id']}/", token=shop.tokens[order["customer"]])
    assert status == 200 and answer["status"] == "ready", answer
    return answer["pickup"]["code"]


READ_STORM_RESULT = """
import json
from fulfilment.models import Order, PaymentWebhookEvent
from stores.models import MenuItem
orders = {{}}
for order in Order.objects.filter(pk__in={ids}).select_related("payment").prefetch_related("events"):
    payment = order.payment
    orders[order.pk] = {{"status": order.status, "total": order.total_minor,
        "payment": {{"status": payment.status, "intent_id": payment.intent_id, "intent_status": payment.intent_status,
                    "amount": payment.amount_minor, "captured": payment.captured_minor,
                    "busy": payment.busy_since is not None}},
        "moves": [[event.from_status, event.to_status] for event in order.events.order_by("id")
                  if event.kind == "status_changed"],
        "picked_up_payment": [event.data.get("payment") for event in order.events.all()
                              if event.to_status == "picked_up"]}}
rows = [[row.event_id, row.order_id, row.outcome] for row in PaymentWebhookEvent.objects.all()]
stock = {{item.pk: item.stock_count for item in MenuItem.objects.filter(name="Croissant")}}
print(json.dumps({{"orders": orders, "webhooks": rows, "stock": stock}}))
"""


def test_webhook_storm_authorises_captures_and_moves_each_order_once(make_stack, fresh_postgres_url,
                                                                      stack_redis_url, stripe_double):
    stack = make_stack(workers=3, database_url=fresh_postgres_url, redis_url=stack_redis_url, env={
        "STRIPE_SECRET_KEY": "sk_test_storm", "STRIPE_PUBLISHABLE_KEY": "pk_test_storm",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": stripe_double.url})
    shop = seed_shop(stack)
    barista = stack.api_token("fault_barista")
    chooser = random.Random(23)

    everything = place_orders(stack, shop, ORDERS + FORGED_ONLY)
    paid, forged_only = everything[:ORDERS], everything[ORDERS:]
    intents = {int(intent["metadata"]["order_id"]): intent["id"] for intent in stripe_double.intents.values()}
    assert sorted(intents) == sorted(order["id"] for order in everything)
    stripe_double.order_of_intent = {intent_id: order_id for order_id, intent_id in intents.items()}

    # 1. The customers confirm their cards in the browser; Stripe tells us, many times over, in any order.
    first_events = []   # (order id, type, intent as sent, event id): delivered again later, as late retries
    for order in paid:
        created = dict(stripe_double.intents[intents[order["id"]]])
        authorised = stripe_double.confirm(intents[order["id"]], "pm_card_visa")
        first_events += [(order["id"], "payment_intent.created", created, f"evt_created_{order['id']}"),
                         (order["id"], "payment_intent.amount_capturable_updated", authorised,
                          f"evt_capturable_{order['id']}")]
    storm = Storm(stack.url)
    stripe_double.storm = storm
    try:
        jobs = [("event", event) for event in first_events for _ in range(COPIES)]
        jobs += [("refresh", order) for order in paid]                       # the customer's page asks too
        jobs += [("forged", (order, how)) for order in forged_only for how in ("wrong-secret", "altered")]
        jobs += [("forged", (order, "altered")) for order in chooser.sample(paid, 5)]
        chooser.shuffle(jobs)
        for kind, job in jobs:
            if kind == "event":
                order_id, event_type, obj, event_id = job
                send_event(storm, order_id, event_type, obj, event_id, copies=1)
            elif kind == "refresh":
                storm.submit(Delivery("refresh", job["id"]), f"/api/orders/{job['id']}/payment/refresh/", b"",
                             {"Authorization": f"Token {shop.tokens[job['customer']]}"})
            else:
                order, how = job
                intent = stripe_double.intents[intents[order["id"]]]
                claimed = {**intent, "status": "requires_capture", "amount_capturable": intent["amount"]}
                send_forged(storm, order["id"], claimed, how)
        storm.finish()

        # 2. The kitchen finishes every paid order; baristas hand most over (two scans of each at once) while
        #    Stripe's late retries of the first events arrive and each capture sets off its own events.
        bump_to_ready(stack, shop, paid)
        handed = chooser.sample(paid, HANDED_OVER)
        jobs = [("event", event) for event in first_events]
        jobs += [("handoff", (order, pickup_code(stack, shop, order))) for order in handed for _ in range(2)]
        chooser.shuffle(jobs)
        for kind, job in jobs:
            if kind == "event":
                order_id, event_type, obj, event_id = job
                send_event(storm, order_id, event_type, obj, event_id, copies=1)
            else:
                order, code = job
                body = json.dumps({"code": code, "name": f"fault_customer_{order['customer']}"}).encode()
                storm.submit(Delivery("handoff", order["id"]), f"/api/stores/{order['store']}/handoff/", body,
                             {"Authorization": f"Token {barista}"})
        deliveries = storm.finish()
    finally:
        stripe_double.storm = None
        storm.close()

    check_answers(deliveries, paid, handed)
    check_database(stack, shop, paid, handed, forged_only, deliveries)
    check_stripe(stripe_double, intents, paid, handed, forged_only)
    check_logs(stack, paid, handed)
    report(deliveries, stripe_double)


def check_answers(deliveries: list[Delivery], paid: list[dict], handed: list[dict]) -> None:
    """Every signed delivery 200, every forged one 400; each event id took effect on exactly one delivery;
    each order handed over exactly once, its second scan told so."""
    by_kind = defaultdict(list)
    for delivery in deliveries:
        by_kind[delivery.kind].append(delivery)
    assert [(d.order_id, d.status, d.body) for d in by_kind["webhook"] if d.status != 200] == []
    assert {d.status for d in by_kind["forged"]} == {400}
    assert {d.body["error"]["code"] for d in by_kind["forged"]} == {"bad_signature"}
    assert [(d.order_id, d.status, d.body) for d in by_kind["refresh"] if d.status != 200] == []

    applied = Counter(d.event_id for d in by_kind["webhook"] if not d.body["outcome"].startswith("duplicate"))
    delivered = {d.event_id for d in by_kind["webhook"]}
    assert {event_id: count for event_id, count in applied.items() if count != 1} == {}
    assert set(applied) == delivered, "an event was answered 'duplicate' on every delivery"

    handoffs = defaultdict(list)
    for delivery in by_kind["handoff"]:
        handoffs[delivery.order_id].append((delivery.status, delivery.body.get("status") or
                                            delivery.body.get("error", {}).get("code")))
    assert set(handoffs) == {order["id"] for order in handed}
    for order_id, answers in handoffs.items():
        assert sorted(status for status, _ in answers) == [200, 409], (order_id, answers)
        assert {code for _, code in answers} - {"picked_up"} <= {"handoff_in_progress", "already_picked_up"}, \
            (order_id, answers)


def check_database(stack, shop, paid, handed, forged_only, deliveries) -> None:
    ids = [order["id"] for order in (*paid, *forged_only)]
    database = stack.seed(READ_STORM_RESULT.format(ids=ids))
    orders = {int(order_id): order for order_id, order in database["orders"].items()}
    handed_ids = {order["id"] for order in handed}
    for order in paid:
        found = orders[order["id"]]
        payment = found["payment"]
        assert payment["amount"] == found["total"] and not payment["busy"], found
        if order["id"] in handed_ids:
            assert found["status"] == "picked_up", found
            assert (payment["status"], payment["captured"], payment["intent_status"]) == (
                "captured", found["total"], "succeeded"), found
            assert found["moves"] == [["pending_payment", "confirmed"], ["confirmed", "ready"],
                                      ["ready", "picked_up"]], found
            [recorded] = found["picked_up_payment"]  # the handoff's move says what it charged
            assert recorded and recorded["captured_minor"] == found["total"], found
        else:
            assert found["status"] == "ready", found
            assert (payment["status"], payment["captured"], payment["intent_status"]) == (
                "authorised", 0, "requires_capture"), found
            assert found["moves"] == [["pending_payment", "confirmed"], ["confirmed", "ready"]], found
    for order in forged_only:
        found = orders[order["id"]]
        assert found["status"] == "pending_payment" and found["moves"] == [], found
        assert found["payment"]["status"] == "pending" and found["payment"]["captured"] == 0, found

    rows = database["webhooks"]
    event_ids = [event_id for event_id, _, _ in rows]
    assert len(event_ids) == len(set(event_ids)), "an event recorded twice"
    assert set(event_ids) == {d.event_id for d in deliveries if d.kind == "webhook"}
    assert not [event_id for event_id in event_ids if event_id.startswith("evt_forged")]
    confirmations = Counter(order_id for _, order_id, outcome in rows if outcome.endswith("order confirmed"))
    assert max(confirmations.values(), default=0) <= 1, confirmations

    for store_index, store in enumerate(shop.stores):
        croissant = shop.menus[store_index]["croissant"]
        held = sum(1 for order in (*paid, *forged_only) if order["store"] == store)
        assert database["stock"][str(croissant)] == CROISSANT_STOCK - held, f"store {store}: stock does not add up"


def check_stripe(double: StripeDouble, intents: dict[int, str], paid, handed, forged_only) -> None:
    """At 'Stripe': one capture per handed-over order, for its full amount; the rest still held or unpaid."""
    captures = Counter(re.fullmatch(r"/v1/payment_intents/([^/]+)/capture", seen.path).group(1)
                       for seen in double.calls("POST", r"/capture$"))
    handed_ids = {order["id"] for order in handed}
    for order in paid:
        intent = double.intents[intents[order["id"]]]
        if order["id"] in handed_ids:
            assert captures[intent["id"]] == 1, (order["id"], captures[intent["id"]])
            assert intent["status"] == "succeeded" and intent["amount_received"] == intent["amount"]
        else:
            assert captures[intent["id"]] == 0 and intent["status"] == "requires_capture"
    for order in forged_only:
        assert double.intents[intents[order["id"]]]["status"] == "requires_payment_method"
    assert not double.calls("POST", r"/cancel$") and not double.calls("POST", r"^/v1/refunds$")


def check_logs(stack, paid, handed) -> None:
    """No request ended in a 5xx at nginx; each payment was authorised once and captured at most once (one
    log line each across the workers)."""
    errors = [(line["status"], line["method"], line["uri"]) for line in stack.access_log() if line["status"] >= 500]
    assert errors == []
    logs = "\n".join(stack.worker_log(index) for index in range(len(stack.workers)))
    for order in paid:
        assert logs.count(f"Payment of order {order['id']}: pending -> authorised") == 1, order
        assert logs.count(f"Payment of order {order['id']}: authorised -> captured") == (order in handed), order


def report(deliveries: list[Delivery], double: StormingStripe) -> None:
    kinds = Counter(d.kind for d in deliveries)
    webhooks = [d for d in deliveries if d.kind == "webhook"]
    outcomes = Counter(re.sub(r"\(.*", "(...)", d.body.get("outcome", "")) for d in webhooks)
    handoffs = Counter((d.status, d.body.get("status") or d.body.get("error", {}).get("code"))
                       for d in deliveries if d.kind == "handoff")
    print(f"\nrequests {dict(kinds)}; webhook events {len({d.event_id for d in webhooks})} delivered "
          f"{len(webhooks)} times; outcomes {dict(outcomes)}; handoffs {dict(handoffs)}; capture answers held until "
          f"the webhook was answered {double.held_answers}")

"""Many clients at once on PostgreSQL: the last units of an item, retried checkouts, cancels racing orders.

Every client is a thread with its own database connection, released together by a barrier. The
answers must be clear 2xx/4xx (never a 500 or an exception), and the rows in the database must add
up: no oversold stock, no second order for one Idempotency-Key, no lost units.
"""

import threading
from collections import Counter
from dataclasses import dataclass

import pytest
from django.db import connection
from rest_framework.test import APIClient

from fulfilment import services
from fulfilment.models import OPEN_STATUSES, Channel, Order, OrderLine
from orderahead.errors import DomainError
from stores.models import MenuItem
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JOIN_TIMEOUT_S = 60


@dataclass
class Answer:
    status: int | None = None
    body: dict | None = None
    replayed: bool = False
    error: str = ""  # an exception the call raised instead of answering


def run_together(calls) -> list[Answer]:
    """Run each call (returning an Answer) in its own thread, all released at once; answers in call order.

    Each thread connects before the barrier (so connecting does not spread the start) and closes its
    connection at the end, so the test database can be flushed and dropped afterwards.
    """
    barrier = threading.Barrier(len(calls))
    answers = [Answer() for _ in calls]

    def worker(index, call):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=JOIN_TIMEOUT_S)
            answers[index] = call()
        except BaseException as error:  # noqa: BLE001 - reported by the test, with the rest
            answers[index].error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a client hung (lock wait?)"
    return answers


def assert_no_failures(answers: list[Answer]) -> None:
    errors = Counter(a.error for a in answers if a.error)
    assert not errors, f"clients raised: {dict(errors)}"
    server_errors = Counter(a.status for a in answers if a.status >= 500)
    assert not server_errors, f"server errors (tracebacks in the captured log): {dict(server_errors)}"


def client_for(user) -> APIClient:
    # A 500 must come back as a response: by default the test client re-raises a view's exception, and
    # since it hears of it through a process-wide signal, every client then in flight would re-raise it.
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def api_post(client, path, body=None, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else factories.checkout_key()  # a new checkout unless told

    def call() -> Answer:
        response = client.post(path, body, format="json", **headers)
        is_json = response.headers.get("Content-Type", "").startswith("application/json")
        return Answer(status=response.status_code, body=response.json() if is_json else None,
                      replayed=response.headers.get("Idempotent-Replayed") == "true")
    return call


def stock_of(item) -> int:
    return MenuItem.objects.values_list("stock_count", flat=True).get(pk=item.pk)


@pytest.fixture
def pg_menu():
    store = factories.open_store(name="Race Store", slug="race-store", timezone=factories.midday_timezone())
    return factories.coffee_menu(store)


def test_fifty_buyers_for_the_last_five_units_get_five_orders(pg_menu):
    croissant = pg_menu["croissant"]
    MenuItem.objects.filter(pk=croissant.pk).update(stock_count=5)
    buyers = [factories.user(f"buyer{n:02d}") for n in range(50)]
    body = {"store": croissant.store_id, "pickup": "asap", "items": [{"item": croissant.pk, "quantity": 1}]}

    answers = run_together([api_post(client_for(buyer), "/api/orders/", body) for buyer in buyers])

    assert_no_failures(answers)
    assert Counter(a.status for a in answers) == {201: 5, 409: 45}
    refusals = [a.body["error"] for a in answers if a.status == 409]
    assert {error["code"] for error in refusals} == {"out_of_stock"}
    assert {error["message"] for error in refusals} == {"Croissant is sold out."}
    assert stock_of(croissant) == 0  # sold out exactly; a CHECK constraint also refuses any negative count
    orders = Order.objects.filter(store=croissant.store)
    assert sorted(a.body["id"] for a in answers if a.status == 201) == sorted(orders.values_list("pk", flat=True))
    assert set(orders.values_list("status", flat=True)) == {"confirmed"}
    assert orders.values("customer").distinct().count() == 5
    assert sum(OrderLine.objects.filter(item=croissant).values_list("quantity", flat=True)) == 5


def test_the_service_never_sells_more_than_is_left(pg_menu):
    """The same race one layer down: counter orders of 2 units straight through `order_place`."""
    croissant = pg_menu["croissant"]
    MenuItem.objects.filter(pk=croissant.pk).update(stock_count=9)  # room for 4 orders of 2, 1 left over
    baristas = [factories.staff(f"barista{n:02d}", croissant.store, "barista") for n in range(30)]

    def place(barista):
        def call() -> Answer:
            try:
                order, created = services.order_place(
                    store_id=croissant.store_id, channel=Channel.COUNTER, placed_by=barista,
                    lines=[services.LineRequest(item_id=croissant.pk, quantity=2)])
            except DomainError as refusal:
                return Answer(status=refusal.status, body={"code": refusal.code})
            return Answer(status=201 if created else 200, body={"id": order.pk})
        return call

    answers = run_together([place(barista) for barista in baristas])

    assert_no_failures(answers)
    assert Counter(a.status for a in answers) == {201: 4, 409: 26}
    assert {a.body["code"] for a in answers if a.status == 409} == {"out_of_stock"}
    assert stock_of(croissant) == 1
    assert Order.objects.count() == 4


def test_twenty_retries_of_one_idempotency_key_make_one_order(pg_menu, customer_a):
    croissant, latte = pg_menu["croissant"], pg_menu["latte"]
    body = {"store": croissant.store_id, "pickup": "asap",
            "items": [{"item": latte.pk, "quantity": 1, "modifiers": [pg_menu["large"].pk]},
                      {"item": croissant.pk, "quantity": 2}]}

    answers = run_together([api_post(client_for(customer_a), "/api/orders/", body, key="checkout-7f3a")
                            for _ in range(20)])

    assert_no_failures(answers)
    assert Counter(a.status for a in answers) == {201: 1, 200: 19}
    assert [a.replayed for a in answers] == [a.status == 200 for a in answers]
    order = Order.objects.get()
    assert {a.body["id"] for a in answers} == {order.pk}
    assert (order.customer, order.idempotency_key) == (customer_a, "checkout-7f3a")
    assert order.lines.count() == 2
    assert stock_of(croissant) == 3  # taken once, not twenty times


def test_one_key_sent_to_two_stores_at_once_gives_one_order_and_clear_refusals(pg_menu, customer_a):
    """Orders for two stores do not queue on one store lock, so the unique key constraint decides:
    the losers get the idempotency 409 (or the replay), not a 500 from the IntegrityError."""
    other = factories.coffee_menu(factories.open_store(name="Race Store 2", slug="race-store-2",
                                                       timezone=factories.midday_timezone()))
    bodies = [{"store": menu["drip"].store_id, "pickup": "asap", "items": [{"item": menu["drip"].pk, "quantity": 1}]}
              for menu in (pg_menu, other)]

    answers = run_together([api_post(client_for(customer_a), "/api/orders/", bodies[n % 2], key="same-key")
                            for n in range(20)])

    assert_no_failures(answers)
    order = Order.objects.get()
    statuses = Counter(a.status for a in answers)
    assert statuses[201] == 1 and statuses[201] + statuses[200] + statuses[409] == 20, statuses
    assert {a.body["id"] for a in answers if a.status in (200, 201)} == {order.pk}
    assert all(a.body["error"]["code"] == "idempotency_key_reused" and a.body["error"]["fields"] == {"order": order.pk}
               for a in answers if a.status == 409)


@pytest.mark.parametrize("round_", range(3))
def test_cancels_racing_new_orders_lose_no_stock(pg_menu, round_):
    """Customers cancel orders of two counted items while others order the same two items, carts
    naming them in either order. Every answer is clear, and stock = start - what open orders hold.

    Regression: while orders took item rows in cart order and cancels gave them back in line order,
    PostgreSQL found deadlocks here in every round and some clients got 500s."""
    croissant, drip = pg_menu["croissant"], pg_menu["drip"]
    MenuItem.objects.filter(pk__in=[croissant.pk, drip.pk]).update(stock_count=200)

    def cart(n):
        items = [{"item": croissant.pk, "quantity": 1 + n % 3}, {"item": drip.pk, "quantity": 1 + n % 2}]
        return {"store": croissant.store_id, "pickup": "asap", "items": items if n % 2 else items[::-1]}

    owners = [factories.user(f"owner{n:02d}") for n in range(12)]
    existing = []
    for n, owner in enumerate(owners):
        response = client_for(owner).post("/api/orders/", cart(n), format="json", **factories.checkout_key())
        assert response.status_code == 201, response.json()
        existing.append(response.json()["id"])
    newcomers = [factories.user(f"newcomer{n:02d}") for n in range(12)]

    calls = []
    for n in range(12):
        calls.append(api_post(client_for(owners[n]), f"/api/orders/{existing[n]}/cancel/"))
        calls.append(api_post(client_for(newcomers[n]), "/api/orders/", cart(n + 1)))
    answers = run_together(calls)

    assert_no_failures(answers)
    cancels, placements = answers[0::2], answers[1::2]
    assert [a.status for a in cancels] == [200] * 12, [a.body for a in cancels if a.status != 200]
    assert [a.status for a in placements] == [201] * 12, [a.body for a in placements if a.status != 201]
    assert Order.objects.filter(pk__in=existing, status="cancelled").count() == 12
    for item in (croissant, drip):
        held = sum(OrderLine.objects.filter(item=item, order__status__in=OPEN_STATUSES)
                   .values_list("quantity", flat=True))
        assert held > 0 and stock_of(item) == 200 - held

"""What every fault test of the production stack shares: stores to order from, clients that place orders the
way a phone does (one Idempotency-Key per checkout, retried until an answer comes back), kitchen screens that
behave like kds.js (snapshot, events in number order, reconnect with `?since=`), and the final check of the
database against what the clients were told.

    stack = make_stack(workers=3, database_url=fresh_postgres_url, redis_url=stack_redis_url)
    shop = seed_shop(stack)
    with Screens(stack, shop) as screens, OrderLoad(stack, shop, clients=4) as load:
        load.wait_for(orders=20)
        stack.kill_worker(1)                      # the fault
        load.wait_for(orders=60)
        check_everything(stack, shop, load, screens)   # inside the block: the screens must still be running

`check_everything` is the end of every fault test: each order a client saw accepted exists once with its
lines, payment and a consistent history, no order exists that no client was told of, stock adds up, and
every screen shows exactly the store's open tickets.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.kitchen_display.screen_model import Board
from tests.production.stack import Stack

CROISSANT_STOCK = 100_000  # tracked stock that never runs out during a test, so it must add up exactly

SEED_SHOP = """
import json
from stores.models import StoreMembership
from tests import factories
zone = factories.midday_timezone()
stores, menus = [], []
for number in range({stores}):
    store = factories.open_store(name=f"Fault Store {{number}}", slug=f"fault-store-{{number}}", timezone=zone)
    menu = factories.coffee_menu(store)
    menu["croissant"].stock_count = {stock}
    menu["croissant"].save(update_fields=["stock_count"])
    stores.append(store.pk)
    menus.append({{"latte": menu["latte"].pk, "drip": menu["drip"].pk, "croissant": menu["croissant"].pk}})
barista = factories.user("fault_barista")
for store_id in stores:
    StoreMembership.objects.create(user=barista, store_id=store_id, role=StoreMembership.BARISTA)
for number in range({customers}):
    factories.user(f"fault_customer_{{number}}")
print(json.dumps({{"stores": stores, "menus": menus}}))
"""


@dataclass
class Shop:
    stores: list[int]
    menus: list[dict]          # per store: {"latte": id, "drip": id, "croissant": id}
    tokens: list[str]          # one API token per customer
    screen_cookie: str         # a barista's session on every store


def seed_shop(stack: Stack, *, stores: int = 3, customers: int = 6) -> Shop:
    made = stack.seed(SEED_SHOP.format(stores=stores, customers=customers, stock=CROISSANT_STOCK))
    return Shop(stores=made["stores"], menus=made["menus"],
                tokens=[stack.api_token(f"fault_customer_{number}") for number in range(customers)],
                screen_cookie=stack.session_cookie("fault_barista"))


# --- Customers ----------------------------------------------------------------------------------------------

# Answers after which the same request is sent again with the same key: the worker or the network failed
# (None: no answer at all), or the service said to come back (503 with Retry-After, 502/504 from nginx).
RETRY_STATUSES = {None, 502, 503, 504}
# 201: placed now; 200: an earlier try with the same key placed it (its answer was lost), here it is again.
ACCEPTED = {200, 201}


@dataclass
class Placed:
    key: str
    token: str
    store: int
    lines: list[dict]
    order_id: int | None = None
    status: int | None = None      # the final answer's HTTP status
    attempts: int = 0
    cancel: bool = False           # this customer cancels the order once placed
    cancelled: bool = False


@dataclass
class OrderLoad:
    """`clients` threads, each a customer placing one order after another through nginx, every one with a
    fresh Idempotency-Key retried on no answer (or a 502/503/504) until a real answer comes. Every fifth
    accepted order is cancelled by its customer (also retried), so stock goes out and back."""

    stack: Stack
    shop: Shop
    clients: int = 4
    pause_s: float = 0.02
    give_up_s: float = 90.0
    seed: int = 7
    placed: list[Placed] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retries: int = 0
    replays: int = 0       # orders whose first answer was lost and a retry returned
    # Each answer that was retried, as (status, its Retry-After header, its JSON error code): a fault test
    # asserts what clients were told while it lasted (None: no answer at all).
    retried: Counter = field(default_factory=Counter)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(number,), daemon=True)
                         for number in range(self.clients)]

    def __enter__(self) -> OrderLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.give_up_s + 30)

    @property
    def accepted(self) -> list[Placed]:
        with self._lock:
            return [placed for placed in self.placed if placed.status in ACCEPTED]

    def wait_for(self, *, orders: int, timeout: float = 120) -> None:
        """Until `orders` orders in all were accepted."""
        deadline = time.monotonic() + timeout
        while len(self.accepted) < orders:
            assert time.monotonic() < deadline, f"only {len(self.accepted)} of {orders} orders: {self.errors[-5:]}"
            assert not self.errors, self.errors[-5:]
            time.sleep(0.05)

    def _send(self, method: str, path: str, body: dict | None, *, token: str, key: str | None) -> tuple[int, dict]:
        """One request, sent again while the answer says to (the same key each time); the last answer."""
        deadline = time.monotonic() + self.give_up_s
        headers = {"Idempotency-Key": key} if key else {}
        while True:
            try:
                status, answer, response_headers = self.stack.request(method, path, body, token=token,
                                                                      headers=headers, timeout=30)
            except OSError:  # reset, refused, timed out: the request may or may not have been done
                status, answer, response_headers = None, {}, {}
            if status not in RETRY_STATUSES:
                return status, answer
            error = answer.get("error") if isinstance(answer, dict) else None
            with self._lock:
                self.retries += 1
                self.retried[(status, response_headers.get("Retry-After"),
                              error.get("code") if isinstance(error, dict) else None)] += 1
            if time.monotonic() > deadline:
                return status, answer
            time.sleep(0.2)

    def _client(self, number: int) -> None:
        chooser = random.Random(self.seed * 1000 + number)
        token = self.shop.tokens[number % len(self.shop.tokens)]
        count = 0
        while not self._stop.is_set():
            store_index = chooser.randrange(len(self.shop.stores))
            menu = self.shop.menus[store_index]
            lines = [{"item": menu["latte"], "quantity": 1}]
            if chooser.random() < 0.5:
                lines.append({"item": menu["croissant"], "quantity": chooser.randint(1, 2)})
            count += 1
            placed = Placed(key=uuid.uuid4().hex, token=token, store=self.shop.stores[store_index], lines=lines,
                            cancel=count % 5 == 0)
            status, answer = self._send("POST", "/api/orders/", {"store": placed.store, "items": lines,
                                                                 "pickup": "asap"}, token=token, key=placed.key)
            placed.status, placed.order_id = status, answer.get("id")
            with self._lock:
                self.placed.append(placed)
                self.replays += status == 200
                if status not in ACCEPTED:
                    self.errors.append(f"order {placed.key}: {status} {answer}")
            if status in ACCEPTED and placed.cancel:
                status, answer = self._send("POST", f"/api/orders/{placed.order_id}/cancel/", {}, token=token,
                                            key=None)
                placed.cancelled = status == 200
                if status != 200:
                    with self._lock:
                        self.errors.append(f"cancel {placed.order_id}: {status} {answer}")
            time.sleep(self.pause_s)


# --- Kitchen screens ---------------------------------------------------------------------------------------

@dataclass
class Screen:
    """One expo screen of one store, as kds.js: it keeps a Board, answers gaps with a sync, checks in every
    two seconds and, when its socket ends, reconnects through nginx with `?since=` its last number."""

    stack: Stack
    store: int
    cookie: str
    first_ws_url: str | None = None   # where the first socket goes (a worker, past nginx); later ones via nginx
    board: Board = field(default_factory=Board)
    connects: int = 0
    close_codes: list = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def ticket_ids(self) -> set[int]:
        with self._lock:
            return set(self.board.tickets)

    def _run(self) -> None:
        while not self._stop.is_set():
            since = f"?since={self.board.seq}" if self.board.seq is not None else ""
            base = self.first_ws_url if self.connects == 0 and self.first_ws_url else self.stack.ws_url
            try:
                with connect(f"{base}/ws/kds/{self.store}/expo/{since}", origin=self.stack.url,
                             additional_headers={"Cookie": self.cookie}, open_timeout=10) as socket:
                    self.connects += 1
                    self._follow(socket)
                    self.close_codes.append(socket.close_code)
            except ConnectionClosed as closed:  # the close code the server sent, or 1006: none (a crash)
                self.close_codes.append(closed.rcvd.code if closed.rcvd else 1006)
            except Exception as error:  # noqa: BLE001 - any end of a socket means: reconnect, as kds.js does
                self.close_codes.append(type(error).__name__)
            self._stop.wait(0.3)

    def _follow(self, socket) -> None:
        checked_in = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - checked_in > 2 and self.board.seq is not None:
                socket.send(json.dumps({"action": "sync", "since": self.board.seq}))
                checked_in = time.monotonic()
            try:
                raw = socket.recv(timeout=0.5)
            except TimeoutError:
                continue
            with self._lock:
                reply = self.board.receive(json.loads(raw))
            if reply:
                socket.send(json.dumps(reply))


class Screens:
    """Expo screens for every store of the shop: `per_store` through nginx, plus one per store whose first
    socket goes straight to each worker in `pinned_to` (so a test knows that worker holds screens)."""

    def __init__(self, stack: Stack, shop: Shop, per_store: int = 2, pinned_to: tuple[int, ...] = ()):
        self.checked = False  # check_screens ran while they were still following their stores
        self.screens = [Screen(stack, store, shop.screen_cookie) for store in shop.stores for _ in range(per_store)]
        self.pinned = [Screen(stack, store, shop.screen_cookie,
                              first_ws_url=stack.workers[worker].url.replace("http://", "ws://"))
                       for store in shop.stores for worker in pinned_to]
        self.screens += self.pinned

    def __enter__(self) -> Screens:
        for screen in self.screens:
            screen.start()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        for screen in self.screens:
            screen.stop()
        # Stopped screens stop catching up: checked after this, the last events would seem lost.
        assert exc_type is not None or self.checked, "call check_everything inside the `with Screens(...)` block"


# --- The end of every fault test -----------------------------------------------------------------------------

READ_DATABASE = """
import json
from fulfilment.models import Order, PAID_OPEN_STATUSES
from fulfilment.services.outbox import outbox_heads
from stores.models import MenuItem
orders = []
for order in Order.objects.filter(store_id__in={stores}).prefetch_related("lines", "events").select_related("payment"):
    payment = getattr(order, "payment", None)
    orders.append({{"id": order.pk, "key": order.idempotency_key, "store": order.store_id, "status": order.status,
                   "lines": sorted([line.item_id, line.quantity] for line in order.lines.all()),
                   "payment": payment.status if payment else None,
                   "events": [[event.kind, event.from_status, event.to_status] for event in order.events.all()]}})
stock = {{item.pk: item.stock_count for item in MenuItem.objects.filter(store_id__in={stores}, name="Croissant")}}
print(json.dumps({{"orders": orders, "stock": stock, "open": sorted(PAID_OPEN_STATUSES),
                  "heads": outbox_heads(store_ids={stores})}}))
"""

PAYMENT_OF_STATUS = {"confirmed": "authorised", "in_progress": "authorised", "ready": "authorised",
                     "cancelled": "cancelled"}


def read_database(stack: Stack, shop: Shop) -> dict:
    return stack.seed(READ_DATABASE.format(stores=shop.stores))


def check_orders(database: dict, load: OrderLoad) -> None:
    """Every accepted order once, as placed, with its payment and a history whose moves chain up to its state;
    no order no client was told of; croissant stock = start - what open and finished orders hold."""
    assert load.errors == []
    by_key = {}
    for order in database["orders"]:
        assert order["key"] not in by_key, f"two orders for key {order['key']}"
        by_key[order["key"]] = order
    accepted = {placed.key: placed for placed in load.accepted}
    assert set(by_key) == set(accepted), "orders in the database and orders the clients were told of differ"
    for key, placed in accepted.items():
        order = by_key[key]
        assert order["id"] == placed.order_id
        assert order["lines"] == sorted([line["item"], line["quantity"]] for line in placed.lines)
        assert order["status"] == ("cancelled" if placed.cancelled else "confirmed"), order
        assert order["payment"] == PAYMENT_OF_STATUS[order["status"]], order
        created, *moves = order["events"]
        assert created[0] == "created"
        state = created[2]
        for kind, from_status, to_status in moves:
            if kind == "status_changed":
                assert from_status == state, order["events"]
                state = to_status
        assert state == order["status"], order["events"]
    for store_index, store in enumerate(load.shop.stores):
        croissant = load.shop.menus[store_index]["croissant"]
        held = sum(quantity for order in database["orders"] if order["store"] == store and order["status"] != "cancelled"
                   for item, quantity in order["lines"] if item == croissant)
        assert database["stock"][str(croissant)] == CROISSANT_STOCK - held, f"store {store}: stock does not add up"


def check_screens(stack: Stack, shop: Shop, screens: Screens, timeout: float = 30) -> None:
    """Every screen ends showing exactly its store's open orders (they check in every 2 s, so a missed push
    or a socket that came back through another worker has that long to catch up)."""
    deadline = time.monotonic() + timeout
    while True:
        database = read_database(stack, shop)
        open_by_store = {store: {order["id"] for order in database["orders"]
                                 if order["store"] == store and order["status"] in database["open"]}
                         for store in shop.stores}
        behind = [{"store": screen.store, "differ": sorted(open_by_store[screen.store] ^ screen.ticket_ids()),
                   "seq": screen.board.seq, "head": database["heads"].get(str(screen.store)),
                   "connects": screen.connects, "closed": screen.close_codes[-3:]}
                  for screen in screens.screens if screen.ticket_ids() != open_by_store[screen.store]]
        if not behind:
            screens.checked = True
            return
        assert time.monotonic() < deadline, f"screens missing or showing extra tickets: {behind}"
        time.sleep(1)


def check_everything(stack: Stack, shop: Shop, load: OrderLoad, screens: Screens) -> dict:
    """The end of a fault test, after the load stopped; the database as read, for the test's own checks."""
    load.stop()
    check_screens(stack, shop, screens)
    database = read_database(stack, shop)
    check_orders(database, load)
    return database


def kitchen_sockets_open(stack: Stack) -> float:
    """The kitchen sockets the workers count as open (orderahead_kitchen_sockets_open from /metrics, summed over
    screen kinds and live workers): after a fault it must equal the screens connected, none left over."""
    with urllib.request.urlopen(f"{stack.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("orderahead_kitchen_sockets_open{"))

"""The load test, for Locust: customers and tills ordering, baristas bumping, kitchen screens watching.

    python -m deploy.load.run --host http://127.0.0.1:8080 --seconds 60 --out var/load-report/   # headless, a report
    locust -f deploy/load/locustfile.py --host http://127.0.0.1:8080                        # Locust's web UI

LOAD_FILE (default var/load.json) is what `manage.py seed_load` wrote: the stores with their items and
stations, the customers' API tokens and the load barista's login. LOAD_WAIT_S (default 1) is the pause
between one user's tasks: a customer or a till places about one order per LOAD_WAIT_S + its response time.

Who is simulated (request names as the report shows them):
- `Customer`: a signed-in customer asks for a `quote`, places a mobile order (`place order`, with a
  fresh Idempotency-Key, retried with the same key when no answer or a 502/503/504 comes back, as the app
  does) and looks at it once (`order status`). One order per task, at a random store.
- `Till`: staff at a store's counter, kiosk, drive-thru or delivery tablet placing orders into the same
  queue through the staff API with the load barista's token (`place order (counter)`, ...), the
  channels in turn.
- `MenuBrowser`: a customer who opens a store's live menu and orders nothing (`menu`).
- `Barista`: the expo screen of one store (`/ws/kds/<store>/expo/`), signed in with the load barista's
  session. Whenever more than --open-orders orders of its store are in the kitchen (confirmed or in
  progress), it bumps the oldest to ready, one at a time; `bump order` (type WS) is the time from sending
  the action to its ack. One per store by default (--baristas), so every store's queue stays short.
- `Screen`: a station screen of one store that only watches; `ticket on screen` (type WS) is, for every
  new order, the time from the order's commit (the event's `at`, stamped just before COMMIT) to the frame
  being read here. Client and server share the clock: loopback only. One per store by default (--screens).
  In a timed run, orders start once every screen has its snapshot and stop DRAIN_S before the end; an order
  placed here that a screen of its store never showed is then a failed `ticket on screen`.
- `StoreReader`: the yardstick, a signed-in read of one store (`store`), the cheapest authenticated
  request; `Quoter` only asks for quotes (`quote`). `deploy.load.cpu_per_order --user` runs one class alone:
  `Customer`, `StoreReader`, `MenuBrowser` or `Quoter`.

Screens behave like kds.js: they apply event numbers in order, ask again for what they missed (a
numbering gap is reported as a failed `event gap`), check in with a sync after 10 s of silence, and
reconnect from their number when the server closes the socket (`kds connect`, type WS). Without class
names on the command line Locust runs every class; name some (`... Customer`) to run those alone.
"""

import datetime as dt
import itertools
import json
import os
import random
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import ClassVar

import gevent
import gevent.event
import gevent.lock
import websocket  # websocket-client: plain sockets, so gevent's monkey patching makes it cooperative
from locust import HttpUser, constant, events, task
from locust.exception import StopUser

LOAD = json.loads(Path(os.environ.get("LOAD_FILE", "var/load.json")).read_text())
RETRY = {0, 502, 503, 504}  # 0: no answer at all
STAFF_CHANNELS = ("counter", "kiosk", "drive_thru", "delivery")
KITCHEN = {"confirmed", "in_progress"}  # what a barista can bump
ON_SCREEN = KITCHEN | {"pending_payment"}  # what a barista keeps track of (paid soon, then bumped)
WAIT_S = float(os.environ.get("LOAD_WAIT_S", "1"))
CHECK_IN_S = 10  # kds.js checks in after this long without a frame
# With kitchen screens in the run, orders start once every screen is open, and stop this long before the end,
# so that every order's ticket has had time to reach its store's screens: one that has not is a failure.
DRAIN_S = 3
SCREENS_WAIT_S = 60


class Run:
    """What this Locust process's users share: which screens are open, and which orders were placed where."""

    screens_expected = 0
    screens_open = 0
    screens_ready = gevent.event.Event()
    placing_ends_at = float("inf")  # time.monotonic()
    placed: ClassVar[dict[int, dict[int, float]]] = defaultdict(dict)  # store -> {order: time.time() of the answer}
    watchers: ClassVar[list] = []  # the Screen users


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--retries", type=int, default=5, help="Tries per order with the same Idempotency-Key.")
    parser.add_argument("--open-orders", type=int, default=3,
                        help="Orders a store's barista leaves in the kitchen before bumping the oldest to ready.")
    parser.add_argument("--baristas", type=int, default=len(LOAD["stores"]),
                        help="Barista users (expo screens that bump), spread over the stores; default one per store.")
    parser.add_argument("--screens", type=int, default=len(LOAD["stores"]),
                        help="Screen users (station screens that watch), spread over the stores; default one per store.")


@events.init.add_listener
def _counts(environment, **kwargs):
    options = environment.parsed_options
    if options is not None:  # fixed counts: these users are spawned first, the rest share what is left by weight
        Barista.fixed_count = max(options.baristas, 1)
        Screen.fixed_count = max(options.screens, 1)
    Run.screens_expected = sum(cls.fixed_count for cls in environment.user_classes if issubclass(cls, KitchenScreen))
    if not Run.screens_expected:
        Run.screens_ready.set()


@events.test_start.add_listener
def _started(environment, **kwargs):
    run_time = getattr(environment.parsed_options, "run_time", None)
    Run.placed.clear()
    if Run.screens_expected and run_time:
        Run.placing_ends_at = time.monotonic() + run_time - DRAIN_S


@events.test_stop.add_listener
def _missing(environment, **kwargs):
    """Every order placed at a store must be on each of its watching screens by now: a failure per one that is not.
    Only in a run with a time limit, where orders stopped DRAIN_S before the end."""
    if Run.placing_ends_at == float("inf"):
        return
    now = time.time()
    for screen in Run.watchers:
        for order, placed_at in Run.placed[screen.store["id"]].items():
            if order not in screen.seen:
                screen.fire("ticket on screen", 0, ms=(now - placed_at) * 1000,
                            error=f"order {order} never reached a screen of store {screen.store['id']}")


def _placing() -> bool:
    """Whether an order may be placed now: once the screens are open (or given up on), until the drain."""
    Run.screens_ready.wait(SCREENS_WAIT_S)
    if time.monotonic() < Run.placing_ends_at:
        return True
    gevent.sleep(1)
    return False


def _items(store: dict) -> list[dict]:
    return [{"item": item, "quantity": 1} for item in random.sample(store["items"], random.randint(1, 3))]


def _place(user: HttpUser, store: dict, path: str, body: dict, name: str) -> int | None:
    """Place one order, retrying with the same Idempotency-Key as the app does; its id, or None."""
    key = uuid.uuid4().hex
    for _ in range(user.environment.parsed_options.retries):
        with user.client.post(path, json=body, headers={"Idempotency-Key": key}, name=name,
                              catch_response=True) as answer:
            if answer.status_code in RETRY:
                answer.failure(f"retry: {answer.status_code}")
                continue
            if answer.status_code not in (200, 201):
                answer.failure(f"{answer.status_code}: {answer.text[:200]}")
                return None
            order = answer.json()["id"]
            Run.placed[store["id"]][order] = time.time()
            return order
    return None


class SignedInUser(HttpUser):
    """A client signed in with one of the seeded customers' tokens, pausing LOAD_WAIT_S between tasks."""

    abstract = True
    wait_time = constant(WAIT_S)

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {random.choice(LOAD['tokens'])}"


class Customer(SignedInUser):
    weight = 2

    @task
    def order_ahead(self):
        if not _placing():
            return
        store = random.choice(LOAD["stores"])
        items = _items(store)
        self.client.post(f"/api/stores/{store['id']}/quote/", json={"items": items, "pickup": "asap"}, name="quote")
        order = _place(self, store, "/api/orders/", {"store": store["id"], "items": items, "pickup": "asap"}, "place order")
        if order is not None:
            self.client.get(f"/api/orders/{order}/", name="order status")


class Till(HttpUser):
    """In-store channels: the staff order API, with the load barista's token (a barista of every load store)."""

    weight = 2
    wait_time = constant(WAIT_S)

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {LOAD['staff']['token']}"
        self.channels = itertools.cycle(random.sample(STAFF_CHANNELS, len(STAFF_CHANNELS)))
        self.guests = itertools.count(1)

    @task
    def order_at_the_till(self):
        if not _placing():
            return
        store, channel = random.choice(LOAD["stores"]), next(self.channels)
        body = {"channel": channel, "items": _items(store), "pickup": "asap", "customer_name": f"Guest {next(self.guests)}"}
        _place(self, store, f"/api/stores/{store['id']}/orders/", body, f"place order ({channel})")


class MenuBrowser(SignedInUser):
    weight = 1

    @task
    def browse(self):
        self.client.get(f"/api/stores/{random.choice(LOAD['stores'])['id']}/menu/", name="menu")


class Quoter(SignedInUser):
    """Only asks for quotes: with MenuBrowser and StoreReader, one request's cost alone (cpu_per_order --user)."""

    @task
    def ask(self):
        store = random.choice(LOAD["stores"])
        self.client.post(f"/api/stores/{store['id']}/quote/", json={"items": _items(store), "pickup": "asap"},
                         name="quote")


class StoreReader(SignedInUser):

    @task
    def read_store(self):
        self.client.get(f"/api/stores/{random.choice(LOAD['stores'])['id']}/", name="store")


# --- Kitchen sockets -----------------------------------------------------------------------------------------

_sessions: dict[str, str | None] = {}  # host -> the load barista's session cookie (None: refused), one sign-in
_signing_in = gevent.lock.Semaphore()
_numbers: dict[str, itertools.count] = defaultdict(itertools.count)  # per class: which store the next user takes


def _at(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


class KitchenScreen(HttpUser):
    """A kitchen screen's socket (what kds.js does), signed in with the load barista's session."""

    abstract = True
    wait_time = constant(0)  # the task blocks on the socket
    ws: websocket.WebSocket | None = None
    opened = False  # it has had its first snapshot

    def path(self) -> str:
        raise NotImplementedError

    def on_start(self):
        number = next(_numbers[type(self).__name__])
        self.store = LOAD["stores"][number % len(LOAD["stores"])]
        self.number = number // len(LOAD["stores"])  # the how-many-th screen of its class at this store
        self.seq: int | None = None
        self.cookie = self.sign_in()
        self.connect()

    def on_stop(self):
        if self.ws is not None:
            self.ws.close()

    def sign_in(self) -> str:
        """`sessionid=...` for the load barista: a real sign-in at /kds/login/, once per process. The cookies
        are carried by hand: production marks them Secure, which a client does not send back over plain HTTP."""
        with _signing_in:
            if self.host not in _sessions:
                page = self.client.get("/kds/login/", name="kds sign-in")
                csrf = page.cookies.get("csrftoken", "")
                with self.client.post("/kds/login/", name="kds sign-in", allow_redirects=False, catch_response=True,
                                      cookies={"csrftoken": csrf},
                                      data={"username": LOAD["staff"]["username"], "password": LOAD["staff"]["password"],
                                            "csrfmiddlewaretoken": csrf}) as answer:
                    session = answer.cookies.get("sessionid")
                    if answer.status_code != 302 or not session:  # the form again: a wrong password, say
                        answer.failure(f"{answer.status_code}, not signed in: run seed_load again against this "
                                       "server's database and load the file it writes")
                # Once only, right or wrong: more wrong passwords would lock the account out (django-axes).
                _sessions[self.host] = f"sessionid={session}" if answer.status_code == 302 and session else None
        if _sessions[self.host] is None:
            Run.screens_ready.set()  # no screen will open: the customers and tills need not wait for them
            raise StopUser()
        return _sessions[self.host]

    def fire(self, name: str, started: float, *, length: int = 0, error: str | None = None, ms: float | None = None):
        self.environment.events.request.fire(
            request_type="WS", name=name, response_time=ms if ms is not None else (time.perf_counter() - started) * 1000,
            response_length=length, exception=RuntimeError(error) if error else None, context={})

    def connect(self):
        """Open the socket (again from the last number seen, as kds.js does); after a refusal, wait and retry."""
        resume = f"?since={self.seq}" if self.seq is not None else ""
        url = "ws" + self.host.removeprefix("http") + self.path() + resume
        started = time.perf_counter()
        try:
            self.ws = websocket.create_connection(url, timeout=CHECK_IN_S, cookie=self.cookie, origin=self.host)
        except (OSError, websocket.WebSocketException) as error:
            self.ws = None
            self.fire("kds connect", started, error=f"{type(error).__name__}: {error}")
            gevent.sleep(1)
            return
        self.fire("kds connect", started)

    def send(self, message: dict):
        if self.ws is None:
            return
        try:
            self.ws.send(json.dumps(message))
        except (OSError, websocket.WebSocketException):
            self.closed()

    def closed(self):
        """The server closed the socket (a worker restarting, say): the next task reconnects from our number."""
        if self.ws is not None:
            self.ws.close()
        self.ws = None
        self.disconnected()
        gevent.sleep(0.5)

    @task
    def listen(self):
        if self.ws is None:
            return self.connect()
        try:
            text = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return self.send({"action": "sync", "since": self.seq})
        except (OSError, websocket.WebSocketException):
            text = ""
        received = time.time()
        if not text:
            return self.closed()
        message = json.loads(text)
        kind = message.get("type")
        if kind in ("snapshot", "snapshot.more"):
            if kind == "snapshot":
                self.seq = message["seq"]
                self.snapshot()
                if not self.opened:  # on screen: what is placed from now on comes as events
                    self.opened = True
                    Run.screens_open += 1
                    if Run.screens_open >= Run.screens_expected:
                        Run.screens_ready.set()
            for ticket in message["tickets"]:
                self.ticket(ticket)
        elif kind == "events":
            for event in message["events"]:
                if self.seq is not None and event["seq"] <= self.seq:
                    continue  # sent twice (our own action's events, or a catch-up): already applied
                if self.seq is None or event["seq"] != self.seq + 1:
                    self.fire("event gap", 0, ms=0, error=f"after {self.seq} came {event['seq']}")
                    self.send({"action": "sync", "since": self.seq, "gap": True})
                    break
                self.seq = event["seq"]
                if "ticket" in event:
                    self.ticket(event["ticket"])
                if event["kind"] == "order.created":
                    self.created(event, received, len(text))
        elif kind in ("ack", "error"):
            self.answered(message)
        self.after_frame()

    # What a screen does with what it is sent; the subclasses fill these in.
    def snapshot(self):
        pass

    def ticket(self, ticket: dict):
        pass

    def created(self, event: dict, received: float, length: int):
        pass

    def answered(self, message: dict):
        pass

    def after_frame(self):
        pass

    def disconnected(self):
        pass


class Barista(KitchenScreen):
    """A store's expo screen that bumps the oldest kitchen order to ready whenever more than --open-orders
    are in the kitchen, one at a time; `bump order` is the time to the ack."""

    def path(self) -> str:
        return f"/ws/kds/{self.store['id']}/expo/"

    def on_start(self):
        self.tickets: dict[int, str] = {}  # order id -> status, for the orders still to be made
        self.bumping: tuple[str, float, int] | None = None  # (ref, sent at, order)
        self.refs = itertools.count(1)
        super().on_start()

    def snapshot(self):
        self.tickets.clear()

    def ticket(self, ticket: dict):
        if ticket["status"] in ON_SCREEN:
            self.tickets[ticket["id"]] = ticket["status"]
        else:
            self.tickets.pop(ticket["id"], None)

    def answered(self, message: dict):
        if self.bumping is None or message.get("ref") != self.bumping[0]:
            return
        _, started, order = self.bumping
        self.bumping = None
        if message["type"] == "error":
            self.tickets.pop(order, None)  # cancelled or bumped meanwhile: nothing to do with it
            self.fire("bump order", started, error=f"{message.get('code')}: {message.get('message')}")
        else:
            self.fire("bump order", started)

    def after_frame(self):
        kitchen = sorted(order for order, status in self.tickets.items() if status in KITCHEN)
        if self.bumping is None and len(kitchen) > self.environment.parsed_options.open_orders:
            ref = f"b{next(self.refs)}"
            self.bumping = (ref, time.perf_counter(), kitchen[0])
            self.send({"action": "bump_order", "order": kitchen[0], "ref": ref})

    def disconnected(self):
        if self.bumping is not None:
            self.fire("bump order", self.bumping[1], error="the socket closed before the answer")
            self.bumping = None


class Screen(KitchenScreen):
    """A station screen that watches: `ticket on screen` is each new order's commit-to-frame time, and a
    failure for every order placed at its store that it never showed (counted when the test stops)."""

    def on_start(self):
        self.seen: set[int] = set()
        Run.watchers.append(self)
        super().on_start()

    def ticket(self, ticket: dict):
        self.seen.add(ticket["id"])

    def path(self) -> str:
        stations = self.store["stations"]
        return f"/ws/kds/{self.store['id']}/{stations[self.number % len(stations)]}/"

    def created(self, event: dict, received: float, length: int):
        self.fire("ticket on screen", 0, ms=max(0.0, (received - _at(event["at"])) * 1000), length=length)

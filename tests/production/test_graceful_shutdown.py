"""A Daphne worker told to stop (SIGTERM, as honcho or a deploy does) drains (orderahead/graceful_shutdown.py):
it stops listening at once, so nginx sends new requests to the other worker; it closes its kitchen screens'
sockets with 1001 "going away", so they reconnect elsewhere; and an order it is writing is finished and
answered before it exits. Daphne alone cancelled that request and cut the sockets without a close frame.

The order is held in flight by holding SQLite's write lock from the test: the placement waits for it (up
to the database's 20 s busy timeout) while the worker is told to stop."""

import json
import socket
import sqlite3
import threading
import time
import uuid

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = pytest.mark.slow

SEED = """
import json
from stores.models import StoreMembership
from tests import factories
store = factories.open_store(name="Drain Store", slug="drain-store", timezone=factories.midday_timezone())
menu = factories.coffee_menu(store)
factories.user("drain_customer")
factories.staff("drain_barista", store, StoreMembership.BARISTA)
print(json.dumps({"store": store.pk, "drip": menu["drip"].pk}))
"""


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def _wait_for(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_sigterm_finishes_the_request_in_flight_and_closes_sockets_with_going_away(make_stack, tmp_path):
    database = tmp_path / "drain.sqlite3"
    stack = make_stack(workers=2, database_url=f"sqlite:///{database}", jobs=False, env={"SHUTDOWN_GRACE_S": "20"})
    ids = stack.seed(SEED)
    token = stack.api_token("drain_customer")
    leaving = stack.workers[0]
    with connect(f"ws://127.0.0.1:{leaving.port}/ws/kds/{ids['store']}/expo/", origin=leaving.url,
                 additional_headers={"Cookie": stack.session_cookie("drain_barista")}, open_timeout=10) as screen:
        assert json.loads(screen.recv(timeout=10))["type"] == "snapshot"

        lock = sqlite3.connect(database, isolation_level=None, timeout=20)
        lock.execute("BEGIN IMMEDIATE")  # every write waits for this until it commits
        answer = {}

        def place_order():  # straight to the worker that will be told to stop
            body = {"store": ids["store"], "items": [{"item": ids["drip"], "quantity": 1}], "pickup": "asap"}
            answer["status"], answer["order"], _ = stack.request("POST", "/api/orders/", body, token=token,
                                                                 headers={"Idempotency-Key": uuid.uuid4().hex},
                                                                 base=leaving.url)

        placing = threading.Thread(target=place_order)
        placing.start()
        time.sleep(1.5)  # the placement is in the view, waiting for the write lock
        assert placing.is_alive()

        exit_code = {}
        stopping = threading.Thread(target=lambda: exit_code.setdefault("code", stack.stop_worker(0)))
        stopping.start()

        with pytest.raises(ConnectionClosed) as closed:
            while True:
                screen.recv(timeout=10)
        assert closed.value.rcvd is not None, "the socket was cut without a close frame"
        assert closed.value.rcvd.code == 1001

        assert _wait_for(lambda: _refused(leaving.port)), "the stopping worker still accepts connections"
        assert placing.is_alive() and stopping.is_alive()  # the order is still being written; the worker waits
        status, _, _ = stack.request("GET", "/api/stores/")  # nginx sends it to the worker that stays
        assert status == 200

        lock.execute("COMMIT")
        lock.close()
        placing.join(30)
        stopping.join(30)
        assert answer["status"] == 201, answer
        assert answer["order"]["status"] == "confirmed"
        assert exit_code["code"] == 0
        with sqlite3.connect(database) as check:
            (lines,) = check.execute("SELECT COUNT(*) FROM fulfilment_orderline WHERE order_id = ?",
                                     [answer["order"]["id"]]).fetchone()
        assert lines == 1
        log = stack.worker_log(0)
        assert "1 sockets closed with 1001, 1 requests were in flight" in log
        assert "0 sockets and 0 requests left" in log

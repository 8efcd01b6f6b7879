"""Customers ordering ahead, for Locust: `locust -f deploy/load/locustfile.py --headless --host http://127.0.0.1:8080`.

Each simulated customer picks a store, asks for a quote, places an ASAP order of one to three items with a
fresh Idempotency-Key (retried with the same key when no answer or a 502/503/504 comes back, as the app
does) and looks at it once. LOAD_FILE (default var/load.json) is what `manage.py seed_load` wrote. The
pace is LOAD_WAIT_S seconds between a customer's orders (default 1): the offered rate is about
users / (LOAD_WAIT_S + response time).

`StoreReader` is the yardstick: a signed-in client reading one store (`GET /api/stores/<id>/`), the
cheapest authenticated request. Without class names Locust runs both, half and half; name one on the
command line (`locust -f deploy/load/locustfile.py Customer`) to run it alone, as `cpu_per_order --user` does.
"""

import json
import os
import random
import uuid
from pathlib import Path

from locust import HttpUser, constant, events, task

LOAD = json.loads(Path(os.environ.get("LOAD_FILE", "var/load.json")).read_text())
RETRY = {0, 502, 503, 504}  # 0: no answer at all


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--retries", type=int, default=5, help="Tries per order with the same Idempotency-Key.")


class SignedInUser(HttpUser):
    """A client signed in with one of the seeded customers' tokens, pausing LOAD_WAIT_S between tasks."""

    abstract = True
    wait_time = constant(float(os.environ.get("LOAD_WAIT_S", "1")))

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {random.choice(LOAD['tokens'])}"


class Customer(SignedInUser):

    @task
    def order_ahead(self):
        store = random.choice(LOAD["stores"])
        items = [{"item": item, "quantity": 1} for item in random.sample(store["items"], random.randint(1, 3))]
        self.client.post(f"/api/stores/{store['id']}/quote/", json={"items": items, "pickup": "asap"}, name="quote")
        key = uuid.uuid4().hex
        for _ in range(self.environment.parsed_options.retries):
            with self.client.post("/api/orders/", json={"store": store["id"], "items": items, "pickup": "asap"},
                                  headers={"Idempotency-Key": key}, name="place order", catch_response=True) as answer:
                if answer.status_code in RETRY:
                    answer.failure(f"retry: {answer.status_code}")
                    continue
                if answer.status_code not in (200, 201):
                    answer.failure(f"{answer.status_code}: {answer.text[:200]}")
                    return
                order = answer.json()["id"]
                break
        else:
            return
        self.client.get(f"/api/orders/{order}/", name="order status")


class StoreReader(SignedInUser):

    @task
    def read_store(self):
        self.client.get(f"/api/stores/{random.choice(LOAD['stores'])['id']}/", name="store")

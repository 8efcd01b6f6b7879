"""Issue 21's acceptance check, on a real server as a fresh clone starts it: Daphne with an EMPTY
Numba cache answers /healthz at once, says "compiling" on /readyz while it compiles the scheduler
in the background, then "ready"; the first quote and the first order after that come back
promptly (the order within 5 s of "ready", as the issue asks), with no compile left for them.

This is the one test that pays the full cold compile (minutes), hence slow."""

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.live_server import daphne, manage, seed, server_env

pytestmark = pytest.mark.slow

PASSWORD = "live-pass-123"
SEED = f"""
import json
from tests import factories
store = factories.open_store(name="Live Store", slug="live-store", timezone=factories.midday_timezone())
menu = factories.coffee_menu(store)
customer = factories.user("customer", first_name="Cy")
customer.set_password({PASSWORD!r}); customer.save()
print(json.dumps({{"store": store.pk, "latte": menu["latte"].pk, "drip": menu["drip"].pk}}))
"""


def _get(base: str, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{base}{path}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _post(base: str, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_fresh_server_is_ready_only_when_the_scheduler_is_and_then_orders_promptly(tmp_path):
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'live.sqlite3'}", DEBUG="0",
                     NUMBA_CACHE_DIR=str(tmp_path / "empty-numba-cache"))
    env.pop("SCHEDULER_WARM_UP", None)
    manage(env, "migrate", "--noinput")
    ids = seed(env, SEED)

    with daphne(env, tmp_path / "daphne.log", wait_ready=False) as base:
        status, body = _get(base, "/healthz")
        assert (status, body) == (200, {"status": "ok"})

        status, body = _get(base, "/readyz")
        assert (status, body["status"]) == (503, "compiling"), body  # an empty cache: minutes of compiling
        deadline = time.monotonic() + 1800
        while status != 200:
            assert time.monotonic() < deadline, "the scheduler never got ready"
            assert body["status"] == "compiling", body
            time.sleep(0.5)
            status, body = _get(base, "/readyz")
        ready_at = time.monotonic()
        # every kernel compiled exactly once (DTYPE_COPIES aside): a second signature is a second compile
        assert body["kernels_compiled"] == body["kernels_total"] > 10, body

        token = _post(base, "/api/auth/login/", {"username": "customer", "password": PASSWORD})["token"]
        items = [{"item": ids["latte"], "quantity": 1}, {"item": ids["drip"], "quantity": 2}]
        quote = _post(base, f"/api/stores/{ids['store']}/quote/", {"items": items, "pickup": "asap"}, token=token)
        quoted_at = time.monotonic()
        order = _post(base, "/api/orders/", {"store": ids["store"], "items": items, "pickup": "asap"}, token=token)
        ordered_at = time.monotonic()
        print(f"\ncompile {body['warm_up_s']:.1f} s; after ready: quote {quoted_at - ready_at:.2f} s, "
              f"order confirmed {ordered_at - ready_at:.2f} s")
        assert quote["asap_ready_at"]
        assert order["status"] == "confirmed", order
        assert ordered_at - ready_at < 5.0  # the acceptance bound; it takes well under a second

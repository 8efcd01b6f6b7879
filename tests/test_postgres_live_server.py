"""Fifty clients at once against a real Daphne on PostgreSQL: no 5xx, and the server's connections stay
bounded by the pool afterwards.

Under ASGI every request runs in a thread of its own. With per-thread persistent connections
(CONN_MAX_AGE=60) eight clients were enough to reach PostgreSQL's 100-connection limit, after which the
menu, the quote and even a trivial GET answered 500 "too many clients already", and 99 connections were
still held after the load. The server here gets a database of its own, so the connections it holds can
be counted in pg_stat_activity.
"""

import json
import threading
import urllib.error
import urllib.request
import uuid
from collections import Counter

import psycopg
import pytest
from django.db import connection

from tests.live_server import daphne, manage, seed, server_env

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 50
REQUESTS_PER_CLIENT = 8
POOL_MAX_SIZE = 6

SEED = f"""
import json
from tests import factories
store = factories.open_store(name="Live Store", slug="live-store", timezone=factories.midday_timezone())
menu = factories.coffee_menu(store)
from rest_framework.authtoken.models import Token
tokens = [Token.objects.create(user=factories.user(f"client{{n:02d}}")).key for n in range({CLIENTS})]
print(json.dumps({{"store": store.pk, "drip": menu["drip"].pk, "tokens": tokens}}))
"""


def _server_dsn(database: str) -> str:
    settings = connection.settings_dict
    return (f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} "
            f"user={settings['USER']} dbname={database}" + (f" password={settings['PASSWORD']}"
                                                             if settings["PASSWORD"] else ""))


@pytest.fixture
def live_server_on_postgres(request, tmp_path):
    """Daphne on a new database of its own; `request.param` may set the pool (max size, timeout)."""
    pool_max_size, pool_timeout_s = getattr(request, "param", (POOL_MAX_SIZE, 10.0))
    database = f"live_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_server_dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    settings = connection.settings_dict
    url = (f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST'] or '127.0.0.1'}:"
           f"{settings['PORT'] or 5432}/{database}")
    env = server_env(DATABASE_URL=url, THROTTLE_ORDER_PLACE="100000/min", THROTTLE_AUTH="100000/min",
                     THROTTLE_QUOTE="100000/min", DEBUG="0")
    try:
        manage(env, "migrate", "--noinput")
        ids = seed(env, SEED)
        pool = {"DB_POOL_MAX_SIZE": str(pool_max_size), "DB_POOL_TIMEOUT_S": str(pool_timeout_s)}
        with daphne({**env, **pool}, tmp_path / "daphne.log") as base:
            yield {"base": base, "database": database, **ids}
    finally:
        with psycopg.connect(_server_dsn("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _call(base: str, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    request = urllib.request.Request(f"{base}{path}", method=method, headers={"Content-Type": "application/json",
                                                                               **(headers or {})},
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, {"body": error.read()[:300], "retry_after": error.headers.get("Retry-After")}


def _server_connections(database: str) -> int:
    with psycopg.connect(_server_dsn("postgres"), autocommit=True) as admin:
        return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database]).fetchone()[0]


def test_fifty_clients_get_no_5xx_and_connections_stay_bounded(live_server_on_postgres):
    server = live_server_on_postgres
    base, store = server["base"], server["store"]
    items = [{"item": server["drip"], "quantity": 1}]
    # The first quote loads the compiled scheduler; the load below is about connections, not the compiler.
    assert _call(base, "POST", f"/api/stores/{store}/quote/", {"items": items, "pickup": "asap"})[0] == 200

    statuses: Counter = Counter()
    failures: list = []
    record = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def client(number: int):
        auth = {"Authorization": f"Token {server['tokens'][number]}"}
        calls = [
            ("GET", f"/api/stores/{store}/", None, {}),
            ("GET", f"/api/stores/{store}/menu/", None, {}),
            ("POST", f"/api/stores/{store}/quote/", {"items": items, "pickup": "asap"}, {}),
            ("GET", "/api/orders/", None, auth),
            ("POST", "/api/orders/", {"store": store, "items": items, "pickup": "asap"},
             {**auth, "Idempotency-Key": uuid.uuid4().hex}),
            ("GET", "/api/stores/", None, {}),
        ]
        barrier.wait(timeout=60)
        for n in range(REQUESTS_PER_CLIENT):
            method, path, body, headers = calls[(number + n) % len(calls)]
            status, answer = _call(base, method, path, body, headers)
            with record:
                statuses[status] += 1
                if status >= 300:
                    failures.append((method, path, status, answer))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert not any(thread.is_alive() for thread in threads), "a client hung"

    assert failures == [], f"{statuses}: {failures[:5]}"
    assert sum(statuses.values()) == CLIENTS * REQUESTS_PER_CLIENT
    # One process holds at most its pool: nothing piles up per request thread.
    assert _server_connections(server["database"]) <= POOL_MAX_SIZE


@pytest.mark.parametrize("live_server_on_postgres", [(1, 0.1)], indirect=True)
def test_an_exhausted_pool_answers_503_with_retry_after_not_500(live_server_on_postgres):
    """One pooled connection for 30 clients at once: some must wait too long, and they are told to retry."""
    server = live_server_on_postgres
    base, store = server["base"], server["store"]
    answers: list = []
    barrier = threading.Barrier(30)

    def client():
        barrier.wait(timeout=60)
        for _ in range(4):
            answers.append(_call(base, "GET", f"/api/stores/{store}/menu/"))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] > 0, f"the pool was never exhausted: {statuses}"
    busy = next(body for status, body in answers if status == 503)
    assert busy["retry_after"] == "2"
    assert json.loads(busy["body"])["error"]["code"] == "busy"

"""PostgreSQL drops the stack's connections (pg_terminate_backend, as an operator, a restart or a failover
would) again and again in the middle of a load of orders and connected kitchen screens.

A request whose connection dies under it is answered 503 with a JSON body and Retry-After, never 500; its
transaction is rolled back, so no order is half-written; the client retries with its Idempotency-Key and
gets its one order. The pool replaces the dead connections before lending them again. Only the test's own
fresh database is touched, so the shared server is safe to use."""

import threading
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.production.faults import (
    OrderLoad,
    Screens,
    check_everything,
    kitchen_sockets_open,
    seed_shop,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

DROPS = 6
DROP_EVERY_S = 1.5


class ConnectionDropper:
    """Terminates every connection to one database but its own, `times` times, `every_s` apart, in a thread."""

    def __init__(self, database_url: str, *, times: int, every_s: float):
        parts = urlsplit(database_url)
        self.database = parts.path.lstrip("/")
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.times, self.every_s = times, every_s
        self.terminated: list[int] = []  # connections ended by each round
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait(self) -> None:
        self._thread.join(self.times * self.every_s + 30)

    def _run(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            for _ in range(self.times):
                time.sleep(self.every_s)
                rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = %s AND pid <> pg_backend_pid()", [self.database]).fetchall()
                self.terminated.append(sum(1 for (done,) in rows if done))


def test_dropped_database_connections_answer_503_and_lose_nothing(fresh_postgres_url, stack_redis_url, make_stack):
    # make_stack last: its stack stops first, before its database is dropped.
    stack = make_stack(workers=2, database_url=fresh_postgres_url, redis_url=stack_redis_url)
    shop = seed_shop(stack)
    dropper = ConnectionDropper(fresh_postgres_url, times=DROPS, every_s=DROP_EVERY_S)

    with Screens(stack, shop) as screens, OrderLoad(stack, shop, clients=4) as load:
        load.wait_for(orders=20)
        dropper.start()
        dropper.wait()
        load.wait_for(orders=len(load.accepted) + 20)
        load.stop()
        # A cancel whose after-commit release lost its connection leaves the card hold to the sweep that
        # `expire` runs every 30 s: run that sweep now rather than wait for it.
        stack.manage("expire_orders")
        database = check_everything(stack, shop, load, screens)
        assert kitchen_sockets_open(stack) == len(screens.screens)  # a socket that died with its query is let go
    print(f"orders {len(load.accepted)} ({len(database['orders'])} in the database), connections terminated "
          f"{dropper.terminated}, retried requests {load.retries} {dict(load.retried)}, answers lost and "
          f"replayed {load.replays}")

    assert sum(dropper.terminated) >= DROPS, f"the stack held no connections to drop: {dropper.terminated}"
    unclear = {answer: count for answer, count in load.retried.items()
               if answer[0] != 503 or answer[1] is None or answer[2] is None}
    assert not unclear, f"answers other than a JSON 503 with Retry-After: {unclear}"
    assert all(process.poll() is None for process in stack.others.values()), "a periodic job died"

"""Redis (the channel layer and the cache) dies in the middle of a load of orders and connected kitchen screens,
stays down a few seconds and comes back empty on the same port.

While it is down, order placement cannot count its throttle: the client is told 503 with Retry-After and
retries with its Idempotency-Key; the kitchen sockets lose their channel layer and close, and the screens
reconnect (refused until Redis is back) and catch up from their last number. Nothing is lost or doubled.

The stack runs on a redis-server of the test's own on a free port, never on the machine's shared one."""

import os
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import redis

from tests.live_server import free_port
from tests.production.faults import (
    OrderLoad,
    Screens,
    check_everything,
    kitchen_sockets_open,
    seed_shop,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

REDIS_SERVER = "/usr/bin/redis-server"
OUTAGE_S = 4


class RedisServer:
    """A redis-server of one test: no persistence, so a restart comes back empty, as a crashed one would."""

    def __init__(self, port: int, log_path: Path):
        self.port, self.log_path = port, log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--daemonize", "no"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            assert self.process.poll() is None, self.log_path.read_text()[-2000:]
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, self.log_path.read_text()[-2000:]
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, as a crash: every client's connection is cut."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


@pytest.fixture
def own_redis(tmp_path):
    if not shutil.which(REDIS_SERVER):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{REDIS_SERVER} is required under CI=true (apt-get install redis-server)", pytrace=False)
        pytest.skip(f"{REDIS_SERVER} not installed")
    server = RedisServer(free_port(), tmp_path / "redis.log")
    server.start()
    yield server
    server.stop()


def test_redis_restart_loses_and_doubles_nothing(own_redis, fresh_postgres_url, make_stack):
    # make_stack last: its stack stops first, before its Redis and its database go away.
    stack = make_stack(workers=2, database_url=fresh_postgres_url, redis_url=own_redis.url)
    shop = seed_shop(stack)

    with Screens(stack, shop, pinned_to=(0, 1)) as screens, OrderLoad(stack, shop, clients=4) as load:
        load.wait_for(orders=20)
        assert all(screen.connects == 1 and screen.board.seq for screen in screens.screens), "screens not following"
        own_redis.kill()
        time.sleep(OUTAGE_S)
        during = len(load.accepted)
        own_redis.start()                          # the same port, empty: no groups, no throttle counters
        load.wait_for(orders=during + 30)
        database = check_everything(stack, shop, load, screens)
        # A socket whose consumer died with the layer is no longer counted (nor kept in its groups) by a worker.
        assert kitchen_sockets_open(stack) == len(screens.screens)
    print(f"orders {len(load.accepted)} ({len(database['orders'])} in the database), retried requests "
          f"{load.retries} {dict(load.retried)}, answers lost and replayed {load.replays}, screen connects "
          f"{sorted(screen.connects for screen in screens.screens)}, how sockets ended "
          f"{Counter(str(code) for screen in screens.screens for code in screen.close_codes)}")

    assert load.retried, "no request met the outage"
    unclear = {answer: count for answer, count in load.retried.items() if answer[0] != 503 or answer[1] is None}
    assert not unclear, f"answers during the outage other than 503 with Retry-After: {unclear}"
    assert all(screen.connects >= 2 for screen in screens.screens), "a screen kept a socket whose layer died"

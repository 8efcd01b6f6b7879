"""A Daphne worker dies (kill -9) in the middle of a load of orders and connected kitchen screens.

Customers retry with their Idempotency-Key and get their order, exactly once; nginx stops sending to the
dead worker; screens whose socket died with it reconnect through nginx to another worker and catch up from
their last number. When the worker comes back it takes traffic again."""

import time

import pytest

from tests.production.faults import OrderLoad, Screens, check_everything, seed_shop

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def test_kill_9_of_a_worker_loses_and_doubles_nothing(make_stack, fresh_postgres_url, stack_redis_url):
    stack = make_stack(workers=3, database_url=fresh_postgres_url, redis_url=stack_redis_url)
    shop = seed_shop(stack)

    with Screens(stack, shop, pinned_to=(1,)) as screens, OrderLoad(stack, shop, clients=4) as load:
        load.wait_for(orders=20)
        stack.kill_worker(1)                       # SIGKILL: no goodbye, requests in flight are cut
        load.wait_for(orders=60)
        stack.start_worker(1)
        restarted = len(stack.access_log())
        # nginx keeps a failed worker out for its fail_timeout (10 s), then tries it again.
        deadline = time.monotonic() + 30
        while not any(line["upstream"].endswith(f":{stack.workers[1].port}")
                      for line in stack.access_log()[restarted:]):
            assert time.monotonic() < deadline, "the restarted worker takes no traffic"
            time.sleep(0.5)
        load.wait_for(orders=len(load.accepted) + 20)
        check_everything(stack, shop, load, screens)
    print(f"orders {len(load.accepted)}, retried requests {load.retries}, answers lost and replayed {load.replays}")
    assert all(screen.connects >= 2 for screen in screens.pinned), "a screen on the killed worker never came back"

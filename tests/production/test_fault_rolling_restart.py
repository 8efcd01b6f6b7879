"""A deploy: every worker restarted in turn (SIGTERM, wait until it has drained and exited, start it again,
wait for its /readyz) while orders flow and screens are connected.

A client that retries idempotently sees no failed request; a stopping worker closes its kitchen sockets
with 1001 (going away), so the screens reconnect through nginx to a worker that is up and catch up."""

import pytest

from tests.production.faults import OrderLoad, Screens, check_everything, seed_shop

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def test_a_rolling_restart_of_every_worker_fails_no_request(make_stack, fresh_postgres_url, stack_redis_url):
    stack = make_stack(workers=3, database_url=fresh_postgres_url, redis_url=stack_redis_url)
    shop = seed_shop(stack)

    with Screens(stack, shop, pinned_to=(0, 1, 2)) as screens, OrderLoad(stack, shop, clients=4) as load:
        load.wait_for(orders=15)
        for index in range(len(stack.workers)):
            assert stack.stop_worker(index) == 0, stack.worker_log(index)[-3000:]   # drained, then exited
            stack.start_worker(index)
            load.wait_for(orders=len(load.accepted) + 10)
        check_everything(stack, shop, load, screens)
    print(f"orders {len(load.accepted)}, retried requests {load.retries}, answers lost and replayed {load.replays}")

    assert all(1001 in screen.close_codes for screen in screens.pinned), \
        [screen.close_codes for screen in screens.pinned]
    answered_by = {line["upstream"] for line in stack.access_log() if line["uri"] == "/api/orders/"}
    assert {f"127.0.0.1:{worker.port}" for worker in stack.workers} <= answered_by

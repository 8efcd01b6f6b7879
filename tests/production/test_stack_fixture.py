"""The test stack's handles work as the fault tests need them: a worker killed with SIGKILL is gone while
nginx keeps answering from the other one, and a restarted worker comes back on its own port and gets
traffic again."""

import signal
import time

import pytest

pytestmark = pytest.mark.slow


def test_a_killed_worker_is_routed_around_and_comes_back_on_its_port(make_stack, tmp_path):
    stack = make_stack(workers=2, database_url=f"sqlite:///{tmp_path / 'stack.sqlite3'}", jobs=False)
    crashed, port = stack.workers[0], stack.workers[0].port
    first_pid = crashed.pid

    assert stack.kill_worker(0) == -signal.SIGKILL
    assert not crashed.alive()
    statuses = {stack.request("GET", "/api/stores/")[0] for _ in range(6)}
    assert statuses == {200}  # nginx passes the refused connection on to the other worker

    stack.restart_worker(0)
    assert crashed.alive() and crashed.pid != first_pid and crashed.port == port
    # Back in the rotation once nginx's fail_timeout (10 s) for it has passed.
    before, deadline = len(stack.access_log()), time.monotonic() + 20
    while f"127.0.0.1:{port}" not in {line["upstream"] for line in stack.access_log()[before:]}:
        assert time.monotonic() < deadline, "nginx never sent a request to the restarted worker"
        assert stack.request("GET", "/api/stores/")[0] == 200
        time.sleep(0.2)

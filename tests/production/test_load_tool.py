"""The load test (`python -m deploy.load.run`, deploy/load/locustfile.py) run headless for a few seconds against
the two set-ups the README names: `make run`'s (one Daphne on SQLite, the in-memory channel layer) and
`make serve`'s (nginx, two Daphne workers, PostgreSQL, Redis; production settings, so Secure cookies over
plain HTTP). What a run must show: orders placed on the mobile app and at the tills, kitchen orders bumped
by the barista users over their sockets, every order's ticket on its store's watching screen, and Locust's
CSV and HTML report in the folder named, with those request names. The rows in the server's database agree.
"""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.load.run import loopback_refusal, main
from tests.live_server import ROOT, daphne, manage, seed, server_env
from tests.production.stack import GENEROUS_THROTTLES

STORES = 3
CHANNELS = {"mobile", "counter", "kiosk", "drive_thru", "delivery"}
# Orders, by channel, in the load stores, and how many the load barista moved to ready.
DATABASE_FIGURES = """
import json
from collections import Counter
from fulfilment.models import Order, OrderEvent
orders = Order.objects.filter(store__slug__startswith="load-")
print(json.dumps({"channels": Counter(orders.values_list("channel", flat=True)),
                  "bumped": OrderEvent.objects.filter(order__in=orders, to_status="ready",
                                                      actor__username="load_barista").count()}))
"""


@pytest.mark.parametrize("host", ["http://127.0.0.1:8000", "http://localhost:8080/", "http://[::1]:8000",
                                  "http://127.0.0.2:9000"])
def test_loopback_hosts_are_accepted(host):
    assert loopback_refusal(host) is None


@pytest.mark.parametrize("host", ["http://10.0.0.5:8080", "https://shop.example.com", "http://192.168.1.20:8000",
                                  "127.0.0.1:8000"])
def test_any_other_host_is_refused_with_a_reason(host, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--host", host, "--seconds", "5", "--out", str(tmp_path / "report")])

    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "loopback only" in error or "must be a URL" in error
    assert not (tmp_path / "report").exists()  # nothing was run


def _run_load_tool(host: str, load_file: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deploy.load.run", "--host", host, "--seconds", "12", "--users", "5",
                           "--wait-s", "0.2", "--open-orders", "1", "--load-file", str(load_file), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)


def _check_report(done: subprocess.CompletedProcess, out: Path, database: dict) -> None:
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{(out / 'locust.log').read_text()[-3000:]}"
    with open(out / "load_stats.csv") as table:
        rows = {row["Name"]: row for row in csv.DictReader(table)}
    assert all(row["Failure Count"] == "0" for row in rows.values()), rows

    placed = {name.removeprefix("place order").strip(" ()") or "mobile": int(row["Request Count"])
              for name, row in rows.items() if name.startswith("place order")}
    assert set(placed) <= CHANNELS and len(placed) >= 3 and "mobile" in placed, placed
    assert placed == database["channels"]  # every order answered is in the database, and no other
    assert rows["bump order"]["Type"] == "WS" and int(rows["bump order"]["Request Count"]) > 0
    assert database["bumped"] >= int(rows["bump order"]["Request Count"])  # one still unanswered at the stop counts here
    # One watching screen per store: each order's ticket once (an order never shown would be a failure).
    assert rows["ticket on screen"]["Type"] == "WS" and int(rows["ticket on screen"]["Request Count"]) == sum(placed.values())
    assert int(rows["menu"]["Request Count"]) > 0 and int(rows["quote"]["Request Count"]) > 0

    html = (out / "report.html").read_text()
    for name in ("ticket on screen", "bump order", "place order", "menu"):
        assert name in html
    assert "Orders placed:" in done.stdout and "ticket on screen" in done.stdout


@pytest.mark.slow
def test_the_load_tool_runs_against_make_runs_set_up(tmp_path):
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'load.sqlite3'}", DEBUG="0", **GENEROUS_THROTTLES)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_load", "--stores", str(STORES), "--customers", "4", "--out", str(tmp_path / "load.json"))
    with daphne(env, tmp_path / "daphne.log") as base:
        done = _run_load_tool(base, tmp_path / "load.json", tmp_path / "report")

    _check_report(done, tmp_path / "report", seed(env, DATABASE_FIGURES))


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_the_load_tool_runs_against_make_serves_set_up(make_stack, fresh_postgres_url, stack_redis_url, tmp_path):
    stack = make_stack(workers=2, database_url=fresh_postgres_url, redis_url=stack_redis_url)
    stack.manage("seed_load", "--stores", str(STORES), "--customers", "4", "--out", str(tmp_path / "load.json"),
                 "--allow-production")

    done = _run_load_tool(stack.url, tmp_path / "load.json", tmp_path / "report")

    _check_report(done, tmp_path / "report", stack.seed(DATABASE_FIGURES))

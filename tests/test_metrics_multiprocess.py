"""Production runs several Daphne workers: each writes its metrics to PROMETHEUS_MULTIPROC_DIR, and
/metrics, whichever worker answers, shows their sum. A worker that is gone keeps its counts (they happened)
but not its open sockets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
WORKER = """
import os, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "orderahead.settings.test"
django.setup()
from orderahead import metrics
count = int(sys.argv[1])
metrics.ORDERS_PLACED.labels("counter", "created").inc(count)
metrics.KITCHEN_SOCKETS.labels("expo").inc(count)
print("written", flush=True)
if sys.argv[2] == "stay":
    sys.stdin.read()  # a live worker, until the test closes its stdin
"""


def start_worker(directory: Path, count: int, stay: bool) -> subprocess.Popen:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(count), "stay" if stay else "exit"], cwd=ROOT,
                              env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert worker.stdout.readline().strip() == "written"
    return worker


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode()) for sample in family.samples}


@pytest.mark.django_db
def test_metrics_sum_the_workers_and_forget_the_sockets_of_a_dead_one(client, tmp_path, monkeypatch):
    staying = start_worker(tmp_path, 3, stay=True)
    try:
        start_worker(tmp_path, 4, stay=False).wait(timeout=60)
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

        samples = scrape(client)
        assert samples[("orderahead_orders_placed_total", (("channel", "counter"), ("outcome", "created")))] == 7
        assert samples[("orderahead_kitchen_sockets_open", (("screen", "expo"),))] == 3  # the exited one's are gone
    finally:
        staying.stdin.close()
        staying.wait(timeout=60)

    samples = scrape(client)
    assert samples[("orderahead_orders_placed_total", (("channel", "counter"), ("outcome", "created")))] == 7
    assert samples.get(("orderahead_kitchen_sockets_open", (("screen", "expo"),)), 0) == 0


def test_a_missing_directory_stops_the_start(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "missing"),
           "DJANGO_SETTINGS_MODULE": "orderahead.settings.test"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR" in result.stderr.strip().splitlines()[-1]

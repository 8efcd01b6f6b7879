"""Production writes one JSON object per line on stdout, Django's own lines included; LOG_FORMAT=console
writes readable lines instead, and any other value stops the start with a message naming the variable."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROPER_KEY = "k9#Qz!v2Lr8@Xw5^Tb7&Mn3*Pd6(Hs1)Fj4-Gc0+Yq=Ue_Ao~Ki"
LOG_TWO_LINES = """
import logging, django, structlog
django.setup()
logging.getLogger("django.request").warning("Not Found: %s", "/x")
structlog.get_logger("fulfilment.services.orders").info("order_placed", order_id=7)
"""


def production(**env: str) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("LOG_", "DJANGO_")) and name != "SECRET_KEY"}
    environment.update({"DJANGO_SETTINGS_MODULE": "orderahead.settings.production", "SECRET_KEY": PROPER_KEY,
                        "DATABASE_URL": "sqlite:///:memory:", **env})
    return subprocess.run([sys.executable, "-c", LOG_TWO_LINES], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=120, check=False)


def test_production_logs_json_lines_on_stdout():
    result = production()

    assert result.returncode == 0, result.stderr[-2000:]
    django_line, order_line = [json.loads(line) for line in result.stdout.splitlines()]
    assert django_line["event"] == "Not Found: /x" and django_line["level"] == "warning"
    assert django_line["logger"] == "django.request" and django_line["timestamp"].endswith("Z")
    assert order_line["event"] == "order_placed" and order_line["order_id"] == 7


def test_console_lines_on_request():
    result = production(LOG_FORMAT="console")

    assert result.returncode == 0, result.stderr[-2000:]
    assert "order_placed" in result.stdout and "order_id=7" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_an_unknown_format_stops_the_start():
    result = production(LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "LOG_FORMAT" in result.stderr.strip().splitlines()[-1]

"""Every request gets an id (nginx's X-Request-ID when nginx is a trusted proxy, a new one otherwise),
sends it back, and every line logged while serving it carries it, as a JSON line."""

import re

import pytest

from tests.log_lines import json_log_lines

pytestmark = pytest.mark.django_db
NGINX = "10.0.0.5"


@pytest.fixture(autouse=True)
def _nginx_is_trusted(settings):
    settings.TRUSTED_PROXIES = [NGINX]


def test_a_request_gets_an_id_back_and_its_log_line_carries_it(client):
    with json_log_lines() as lines:
        response = client.get("/api/stores/")

    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    [line] = lines.named("request_finished")
    assert line["request_id"] == request_id
    assert line["endpoint"] == "store-list" and line["status"] == 200 and line["method"] == "GET"
    assert line["level"] == "info" and line["timestamp"].endswith("Z")


def test_django_s_own_lines_carry_the_request_id_too(client):
    with json_log_lines() as lines:
        response = client.get("/no/such/page/")

    [not_found] = [line for line in lines.all() if line["logger"] == "django.request"]
    assert not_found["request_id"] == response["X-Request-ID"]
    assert not_found["event"].startswith("Not Found") and not_found["level"] == "warning"


def test_an_id_from_an_untrusted_client_is_not_kept(client):
    response = client.get("/api/stores/", HTTP_X_REQUEST_ID="chosen-by-client", REMOTE_ADDR="203.0.113.9")

    assert response["X-Request-ID"] != "chosen-by-client"


def test_an_id_from_the_trusted_proxy_is_kept_and_logged(client):
    nginx_id = "4f2a9c1e8b7d6a5f4e3d2c1b0a998877"
    with json_log_lines() as lines:
        response = client.get("/api/stores/", HTTP_X_REQUEST_ID=nginx_id, REMOTE_ADDR=NGINX,
                              HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert response["X-Request-ID"] == nginx_id
    [line] = lines.named("request_finished")
    assert line["request_id"] == nginx_id and line["client_ip"] == "198.51.100.7"


def test_a_malformed_id_is_replaced_even_from_the_proxy(client):
    response = client.get("/api/stores/", HTTP_X_REQUEST_ID='x" level=error forged', REMOTE_ADDR=NGINX)

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])

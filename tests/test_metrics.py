"""/metrics: what an order placement counts, and who may read it."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import factories

pytestmark = pytest.mark.django_db
NGINX = "10.0.0.5"


@pytest.fixture(autouse=True)
def _one_process(settings, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings.TRUSTED_PROXIES = [NGINX]
    settings.METRICS_TOKEN = ""


def scrape(client, **extra) -> dict:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode()) for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_placing_an_order_counts_the_request_the_placement_and_its_move(client, api_as, customer_a, menu,
                                                                       django_capture_on_commit_callbacks):
    before = scrape(client)
    body = {"store": menu["latte"].store_id, "items": [{"item": menu["latte"].pk, "quantity": 1}], "pickup": "asap"}
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(customer_a).post("/api/orders/", body, format="json", **factories.checkout_key())
    assert response.status_code == 201
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("orderahead_http_requests_total", endpoint="order-list", method="POST", status="201") == 1
    assert grew("orderahead_http_request_duration_seconds_count", endpoint="order-list") == 1
    assert grew("orderahead_orders_placed_total", channel="mobile", outcome="created") == 1
    assert grew("orderahead_order_place_duration_seconds_count", channel="mobile") == 1
    assert grew("orderahead_order_moves_total", to_status="confirmed") == 1
    assert grew("orderahead_scheduler_replan_duration_seconds_count") >= 1
    assert grew("orderahead_scheduler_quote_duration_seconds_count") >= 1
    # The scrape itself is counted under its route's name, never under a raw path.
    assert grew("orderahead_http_requests_total", endpoint="metrics", method="GET", status="200") == 1
    assert not any(name == "orderahead_http_requests_total" and "/" in dict(labels)["endpoint"]
                   for name, labels in after)


def test_a_replayed_order_counts_as_replayed(api_as, customer_a, menu, client):
    body = {"store": menu["latte"].store_id, "items": [{"item": menu["latte"].pk, "quantity": 1}], "pickup": "asap"}
    key = factories.checkout_key()
    api_as(customer_a).post("/api/orders/", body, format="json", **key)
    before = scrape(client)
    assert api_as(customer_a).post("/api/orders/", body, format="json", **key).status_code in (200, 201)

    assert value(scrape(client), "orderahead_orders_placed_total", channel="mobile", outcome="replayed") - \
        value(before, "orderahead_orders_placed_total", channel="mobile", outcome="replayed") == 1


@pytest.mark.parametrize("extra", [
    {"REMOTE_ADDR": "203.0.113.9"},                                           # a client on the internet
    {"REMOTE_ADDR": NGINX, "HTTP_X_FORWARDED_FOR": "203.0.113.9"},            # the same, relayed by nginx
    {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "127.0.0.1"},      # pretending to be local
    {"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer guess"},     # no token is set: none works
])
def test_metrics_refuse_an_untrusted_client(client, extra):
    response = client.get("/metrics", **extra)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert b"orderahead_" not in response.content


@pytest.mark.parametrize("extra", [
    {"REMOTE_ADDR": "127.0.0.1"},                                             # a scraper on this machine
    {"REMOTE_ADDR": "::1"},
    {"REMOTE_ADDR": NGINX},                                                   # nginx's own check
])
def test_metrics_answer_this_machine_and_the_proxy(client, extra):
    assert client.get("/metrics", **extra).status_code == 200


def test_metrics_answer_a_scraper_elsewhere_with_the_token(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"

    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9",
                      HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403

"""A placement that finds the database connection dropped or Redis away is told 503 with Retry-After (and
retries with its Idempotency-Key), never 500; other errors stay 500."""

import pytest
import redis
from django.db import InterfaceError, OperationalError
from rest_framework.throttling import ScopedRateThrottle

from fulfilment.models import Order
from fulfilment.services import orders as order_services


@pytest.fixture
def place_order(api_as, customer_a, menu):
    def place():
        return api_as(customer_a).post("/api/orders/", {"store": menu["latte"].store_id, "pickup": "asap",
                                                        "items": [{"item": menu["latte"].pk, "quantity": 1}]},
                                       format="json", HTTP_IDEMPOTENCY_KEY="checkout-1")
    return place


@pytest.mark.parametrize("error", [OperationalError("terminating connection due to administrator command"),
                                   InterfaceError("connection already closed")])
def test_a_dropped_database_connection_answers_503_and_the_retry_places_the_order(place_order, monkeypatch, error):
    real = order_services._order_place_locked

    def dropped(**kwargs):
        real(**kwargs)  # the work is done, and then the connection goes: the atomic block rolls it back
        raise error

    monkeypatch.setattr(order_services, "_order_place_locked", dropped)
    refused = place_order()

    assert refused.status_code == 503, refused.content
    assert refused["Retry-After"] == "2"
    assert refused.json()["error"]["code"] == "unavailable"
    assert not Order.objects.exists()  # rolled back: nothing half-written
    monkeypatch.setattr(order_services, "_order_place_locked", real)
    assert place_order().status_code == 201
    assert Order.objects.count() == 1


def test_redis_away_at_the_throttle_answers_503(place_order, monkeypatch):
    def unreachable(self, request, view):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(ScopedRateThrottle, "allow_request", unreachable)
    refused = place_order()

    assert refused.status_code == 503 and refused["Retry-After"] == "2"
    assert refused.json()["error"]["code"] == "unavailable"
    assert not Order.objects.exists()


def test_a_bug_is_still_a_500(place_order, monkeypatch):
    def broken(**kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(order_services, "_order_place_locked", broken)
    with pytest.raises(ZeroDivisionError):  # the test client re-raises what would be a 500
        place_order()


def test_the_pool_checks_a_connection_before_lending_it(tmp_path):
    """A connection the server dropped between requests (pg_terminate_backend, a restart) is replaced by the
    pool, not lent to the next request: DATABASE_URL's pool gets psycopg's check (Django: CONN_HEALTH_CHECKS)."""
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper
    from psycopg_pool import ConnectionPool

    from orderahead.env import database_from_url

    database = database_from_url("postgres://app@127.0.0.1:5432/shop", base_dir=tmp_path, pool_max_size=4)
    settings = connections.configure_settings({"default": database})["default"]
    wrapper = DatabaseWrapper(settings, alias="probe")
    try:
        assert wrapper.pool._check == ConnectionPool.check_connection
        assert wrapper.pool.max_size == 4
    finally:
        wrapper.close_pool()

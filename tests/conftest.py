"""Shared fixtures: a small open store, and the cast of users every area tests with
(customer A, customer B, a barista of store 1, a manager of store 2)."""

import datetime as dt
import os
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests import factories

ON_CI = os.environ.get("CI", "").lower() == "true"


def _require(service: str, available: bool, reason: str):
    """Skip when a real service is missing, except on CI, where it must be there."""
    if available:
        return
    if ON_CI:
        pytest.fail(f"{service} is required under CI=true: {reason}", pytrace=False)
    pytest.skip(f"{service} not available: {reason}")


@pytest.fixture(autouse=True)
def _postgres_only(request):
    if request.node.get_closest_marker("postgres"):
        _require("PostgreSQL", connection.vendor == "postgresql",
                 "set DATABASE_URL=postgres://... (make test runs this pass with the local server)")


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL", "")
    if url:
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except Exception as error:  # noqa: BLE001 - any failure means "no usable Redis here"
            _require("Redis", False, f"{url}: {error}")
    else:
        _require("Redis", False, "set REDIS_URL=redis://127.0.0.1:6379/0")
    return url


@pytest.fixture(autouse=True)
def _clear_throttles():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def store(db):
    """Store 1: open around the clock, in a zone where it is about noon now, so tests never
    meet a local midnight or closing time whenever the suite runs."""
    return factories.open_store(name="Store One", slug="store-one", timezone=factories.midday_timezone())


@pytest.fixture
def store2(db):
    return factories.open_store(name="Store Two", slug="store-two", timezone=factories.midday_timezone())


@pytest.fixture
def menu(store):
    return factories.coffee_menu(store)


@pytest.fixture
def customer_a(db):
    return factories.user("customer_a")


@pytest.fixture
def customer_b(db):
    return factories.user("customer_b")


@pytest.fixture
def barista_store1(store):
    return factories.staff("barista1", store, "barista")


@pytest.fixture
def manager_store2(store2):
    return factories.staff("manager2", store2, "manager")


@pytest.fixture
def manager2_client(client, manager_store2):
    """The test client signed in as store 2's manager, as admin needs them: staff (admin lets only staff in;
    the membership decides the rest)."""
    manager_store2.is_staff = True
    manager_store2.save(update_fields=["is_staff"])
    client.force_login(manager_store2)
    return client


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def api_as():
    """api_as(user) -> an APIClient authenticated as that user."""
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client
    return make


@pytest.fixture
def now():
    from django.utils import timezone

    return timezone.now().replace(microsecond=0)


@pytest.fixture
def in_an_hour(now):
    return now + dt.timedelta(hours=1)


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    """Every socket test runs on the in-memory layer and on Redis (skipped without it, except on CI)."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        host = {"address": url, **settings.REDIS_CONNECTION_OPTIONS, **settings.CHANNEL_LAYER_POOL}
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "kitchen_display.layers.PooledRedisChannelLayer",
                                               "CONFIG": {"hosts": [host], **settings.CHANNEL_LAYER_OPTIONS,
                                                          "prefix": f"test{uuid.uuid4().hex[:8]}"}}}
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.KDS_OUTBOX_POLL_S = 0.2  # the watcher's safety net, quick enough for a test to wait on
    yield request.param

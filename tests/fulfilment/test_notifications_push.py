"""A customer's browsers are pushed "your order is ready" when the barista bumps it, through a real (local) push
service: the payload arrives encrypted for that browser alone (RFC 8291) and signed with our VAPID key (RFC 8292),
a subscription the push service says is gone is forgotten, each order is pushed once, and the bump never waits
for the push service."""

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from fulfilment import services, webpush
from fulfilment.models import Channel, OrderNotification, PushSubscription
from fulfilment.pickup_codes import pickup_code
from fulfilment.services import LineRequest, lifecycle, notifications
from orderahead.env import env_vapid_keys
from tests.fulfilment.notification_doubles import (
    PushService,
    vapid_claims,
    vapid_key_pair,
)

N = OrderNotification


@pytest.fixture
def push_service():
    with PushService() as service, override_settings(WEBPUSH_PUSH_SERVICES=[service.origin.rsplit(":", 1)[0]]):
        yield service


@pytest.fixture
def vapid(settings):
    private, public = vapid_key_pair()
    settings.WEBPUSH_VAPID_PRIVATE_KEY, settings.WEBPUSH_VAPID_PUBLIC_KEY = private, public
    settings.WEBPUSH_CONTACT = "mailto:ops@example.com"
    return public


@pytest.fixture
def placed_order(menu, barista_store1, customer_a):
    order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.COUNTER, customer=customer_a,
                                    lines=[LineRequest(item_id=menu["croissant"].pk, quantity=1)],
                                    placed_by=barista_store1)
    return order


def subscribe(api_as, user, browser):
    answer = api_as(user).post("/api/me/push-subscriptions/", browser.subscription(), format="json")
    assert answer.status_code == 201, answer.content
    return answer


@pytest.mark.django_db
def test_ready_pushes_an_encrypted_signed_message_to_each_browser(
        push_service, vapid, placed_order, barista_store1, customer_a, api_as, django_capture_on_commit_callbacks):
    phone, laptop = push_service.browser(), push_service.browser()
    subscribe(api_as, customer_a, phone)
    subscribe(api_as, customer_a, laptop)

    with django_capture_on_commit_callbacks(execute=True):
        services.order_mark_ready(order=placed_order, actor=barista_store1)

    assert sorted(request.path for request in push_service.requests) == sorted(
        browser.endpoint.removeprefix(push_service.origin) for browser in (phone, laptop))
    expected = {"title": "Your order is ready",
                "body": f"Order #{placed_order.pk} at Store One. Code {pickup_code(order=placed_order)}.",
                "url": f"/#/order/{placed_order.pk}", "tag": f"order-{placed_order.pk}"}
    for browser in (phone, laptop):
        request = next(r for r in push_service.requests if browser.endpoint.endswith(r.path))
        assert browser.decrypt(request) == expected
        # only that browser's keys open it
        with pytest.raises(Exception):  # noqa: B017,PT011 - http_ece raises a bare cryptography error
            (laptop if browser is phone else phone).decrypt(request)
        claims = vapid_claims(request.headers["authorization"], public_key=vapid)
        assert claims["aud"] == push_service.origin
        assert claims["sub"] == "mailto:ops@example.com"
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600
        assert int(request.headers["ttl"]) > 0
        assert request.headers["urgency"] == "high"
    row = OrderNotification.objects.get(order=placed_order, channel=N.PUSH)
    assert (row.status, row.detail) == (N.SENT, "delivered to 2 of 2 browsers")


@pytest.mark.django_db
def test_the_public_key_the_app_subscribes_with_is_the_signing_key(vapid, customer_a, api_as):
    answer = api_as(customer_a).get("/api/me/notifications/")

    assert answer.json()["push_public_key"] == vapid


@pytest.mark.django_db
def test_a_subscription_the_push_service_says_is_gone_is_deleted(
        push_service, vapid, placed_order, barista_store1, customer_a, api_as, django_capture_on_commit_callbacks):
    gone, alive = push_service.browser(), push_service.browser()
    subscribe(api_as, customer_a, gone)
    subscribe(api_as, customer_a, alive)
    push_service.answers[gone.endpoint.removeprefix(push_service.origin)] = 410

    with django_capture_on_commit_callbacks(execute=True):
        services.order_mark_ready(order=placed_order, actor=barista_store1)

    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [alive.endpoint]
    row = OrderNotification.objects.get(order=placed_order, channel=N.PUSH)
    assert (row.status, row.detail) == (N.SENT, "delivered to 1 of 2 browsers; 1 gone (removed)")


@pytest.mark.django_db
def test_a_failing_push_service_is_recorded_and_the_subscription_kept(
        push_service, vapid, placed_order, barista_store1, customer_a, api_as, django_capture_on_commit_callbacks):
    browser = push_service.browser()
    subscribe(api_as, customer_a, browser)
    push_service.answers[browser.endpoint.removeprefix(push_service.origin)] = 503

    with django_capture_on_commit_callbacks(execute=True):
        services.order_mark_ready(order=placed_order, actor=barista_store1)

    subscription = PushSubscription.objects.get()
    assert subscription.last_error == "push service answered 503"
    row = OrderNotification.objects.get(order=placed_order, channel=N.PUSH)
    assert (row.status, row.detail) == (N.FAILED, "delivered to 0 of 1 browsers; push service answered 503")


@pytest.mark.django_db
def test_a_replayed_or_repeated_ready_pushes_nothing_twice(
        push_service, vapid, placed_order, barista_store1, customer_a, api_as, django_capture_on_commit_callbacks):
    subscribe(api_as, customer_a, push_service.browser())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.order_mark_ready(order=placed_order, actor=barista_store1)
    for callback in callbacks * 2:  # the ready move's effects, run twice
        callback()
    # a recall and a second bump: the customer was already told
    with django_capture_on_commit_callbacks(execute=True):
        services.order_recall(order=placed_order, actor=barista_store1)
        services.order_mark_ready(order=placed_order, actor=barista_store1)

    assert len(push_service.requests) == 1
    assert OrderNotification.objects.filter(order=placed_order, channel=N.PUSH).count() == 1


@pytest.mark.django_db
def test_nothing_is_pushed_for_an_order_without_a_customer(
        push_service, vapid, menu, barista_store1, django_capture_on_commit_callbacks):
    order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.COUNTER, customer=None,
                                    lines=[LineRequest(item_id=menu["drip"].pk, quantity=1)],
                                    placed_by=barista_store1)
    with django_capture_on_commit_callbacks(execute=True):
        services.order_mark_ready(order=order, actor=barista_store1)

    assert push_service.requests == []
    assert not OrderNotification.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_bump_does_not_wait_for_a_slow_push_service(
        push_service, vapid, placed_order, barista_store1, customer_a, api_as, settings):
    settings.NOTIFICATIONS_SYNC = False
    subscribe(api_as, customer_a, push_service.browser())
    push_service.delay_s = 1.5

    started = time.perf_counter()
    services.order_mark_ready(order=placed_order, actor=barista_store1)  # commits: the effect runs
    bump_s = time.perf_counter() - started
    assert notifications.notifications_drain(timeout_s=10)

    assert bump_s < 0.5
    assert len(push_service.requests) == 1
    assert OrderNotification.objects.get(order=placed_order, channel=N.PUSH).status == N.SENT


def test_the_effect_is_registered_for_every_move_into_ready():
    for from_status in ("confirmed", "in_progress"):
        assert notifications.notify_order_ready in lifecycle.effects_for(from_status=from_status, to_status="ready")
    assert notifications.notify_order_ready not in lifecycle.effects_for(from_status="ready", to_status="picked_up")


def test_without_configured_keys_a_key_pair_is_made_once_and_kept(settings, tmp_path):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = settings.WEBPUSH_VAPID_PUBLIC_KEY = ""
    settings.WEBPUSH_VAPID_KEY_FILE = tmp_path / "var" / "webpush_vapid_private_key"

    first = webpush.application_server_key()
    webpush._vapid_key_pair.cache_clear()  # as a restart would

    assert webpush.application_server_key() == first
    assert len(webpush.b64url_decode(first)) == 65
    assert settings.WEBPUSH_VAPID_KEY_FILE.stat().st_mode & 0o777 == 0o600


def test_configured_keys_must_be_a_matching_pair(monkeypatch):
    private, public = vapid_key_pair()
    _, other_public = vapid_key_pair()
    monkeypatch.setenv("PRIV", private)
    monkeypatch.setenv("PUB", public)
    assert env_vapid_keys("PRIV", "PUB") == (private, public)

    monkeypatch.setenv("PUB", other_public)
    with pytest.raises(ImproperlyConfigured, match="PUB is not the public key of PRIV"):
        env_vapid_keys("PRIV", "PUB")
    monkeypatch.delenv("PUB")
    with pytest.raises(ImproperlyConfigured, match="Set both"):
        env_vapid_keys("PRIV", "PUB")
    monkeypatch.setenv("PUB", public)
    monkeypatch.setenv("PRIV", "not-a-key")
    with pytest.raises(ImproperlyConfigured, match="PRIV is not a VAPID private key"):
        env_vapid_keys("PRIV", "PUB")

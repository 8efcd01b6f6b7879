"""Pickup: the customer's QR code (read back with a real decoder, zxing-cpp), the short code, and the
handoff that captures the payment, once, at the right store."""

import datetime as dt
import io

import pytest
import zxingcpp
from PIL import Image

from fulfilment import services
from fulfilment.models import Order, OrderEvent
from fulfilment.payment_gateways.stripe_gateway import StripeGateway
from fulfilment.services import pickup as pickup_services
from tests import factories

pytestmark = pytest.mark.django_db


def scan(png: bytes) -> str:
    """What a barcode scanner reads from the image."""
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1 and results[0].format == zxingcpp.BarcodeFormat.QRCode
    return results[0].text


def qr_token(api_as, order) -> str:
    response = api_as(order.customer).get(f"/api/orders/{order.pk}/qr.png")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/png" and response["Cache-Control"] == "no-store"
    return scan(response.content)


def hand_over(api_as, staff, store_id, **body):
    return api_as(staff).post(f"/api/stores/{store_id}/handoff/", body, format="json")


def test_scanned_qr_hands_the_order_over_and_captures_the_payment(ready_order, stripe_api, api_as, barista_store1):
    order = ready_order()
    assert stripe_api.intent()["status"] == "requires_capture"

    response = hand_over(api_as, barista_store1, order.store_id, token=qr_token(api_as, order))

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "picked_up" and body["pickup"] is None
    assert body["payment"]["status"] == "captured" and body["payment"]["captured_minor"] == 1595
    assert stripe_api.intent()["status"] == "succeeded" and stripe_api.intent()["amount_received"] == 1595
    capture = stripe_api.calls("POST", r"/capture$")
    assert len(capture) == 1 and capture[0].idempotency_key.endswith("-capture")
    event = Order.objects.get(pk=order.pk).events.get(to_status="picked_up")
    assert event.actor == barista_store1 and event.data["handoff"] == {"via": "qr"}
    assert event.data["payment"]["captured_minor"] == 1595


def test_ready_order_shows_its_short_code_and_qr_links(ready_order, stripe_api, api_as):
    order = ready_order()

    body = api_as(order.customer).get(f"/api/orders/{order.pk}/").json()

    pickup = body["pickup"]
    assert pickup["qr_png"] == f"/api/orders/{order.pk}/qr.png" and pickup["qr_svg"] == f"/api/orders/{order.pk}/qr.svg"
    assert len(pickup["code"]) == 4 and pickup["code"].isalnum()
    assert dt.datetime.fromisoformat(pickup["valid_until"]) > dt.datetime.now(dt.UTC)
    svg = api_as(order.customer).get(pickup["qr_svg"])
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content


def test_short_code_and_name_hand_over_too(ready_order, stripe_api, api_as, barista_store1):
    order = ready_order(customer_name="Ana García")
    code = api_as(order.customer).get(f"/api/orders/{order.pk}/").json()["pickup"]["code"]

    wrong_name = hand_over(api_as, barista_store1, order.store_id, code=code, name="Bob")
    right = hand_over(api_as, barista_store1, order.store_id, code=code.lower(), name="ana")

    assert wrong_name.status_code == 404 and wrong_name.json()["error"]["code"] == "unknown_code"
    assert right.status_code == 200, right.json()
    assert Order.objects.get(pk=order.pk).events.get(to_status="picked_up").data["handoff"] == {"via": "code"}


def test_a_code_works_once_and_the_second_scan_says_when(ready_order, stripe_api, api_as, barista_store1):
    order = ready_order()
    token = qr_token(api_as, order)
    assert hand_over(api_as, barista_store1, order.store_id, token=token).status_code == 200

    again = hand_over(api_as, barista_store1, order.store_id, token=token)

    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "already_picked_up" and "by barista1" in error["message"]
    picked_up_at = Order.objects.get(pk=order.pk).picked_up_at
    assert dt.datetime.fromisoformat(error["fields"]["picked_up_at"]) == picked_up_at
    assert error["fields"]["picked_up_by"] == "barista1"
    assert len(stripe_api.calls("POST", r"/capture$")) == 1


def test_token_of_another_store_is_not_found_there(ready_order, stripe_api, api_as, manager_store2):
    order = ready_order()
    token = qr_token(api_as, order)

    response = hand_over(api_as, manager_store2, manager_store2.store_memberships.get().store_id, token=token)

    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_order"
    assert Order.objects.get(pk=order.pk).status == "ready" and not stripe_api.calls("POST", r"/capture$")


def test_forged_token_is_400(ready_order, stripe_api, api_as, barista_store1):
    order = ready_order()
    token = qr_token(api_as, order)
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")

    for bad in (forged, "hello", "x" * 500):
        response = hand_over(api_as, barista_store1, order.store_id, token=bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_token"
    assert Order.objects.get(pk=order.pk).status == "ready"


def test_yesterdays_token_has_expired(ready_order, stripe_api, api_as, barista_store1):
    order = ready_order()
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    Order.objects.filter(pk=order.pk).update(promised_ready_at=yesterday)  # a scheduled order of yesterday
    order.refresh_from_db()
    token, until = pickup_services.pickup_token(order=order, now=yesterday)
    assert until < dt.datetime.now(dt.UTC)

    response = hand_over(api_as, barista_store1, order.store_id, token=token)

    assert response.status_code == 400 and response.json()["error"]["code"] == "token_expired"
    assert Order.objects.get(pk=order.pk).status == "ready"


def test_token_is_valid_until_the_end_of_the_stores_day(ready_order, stripe_api):
    order = ready_order()

    _, until = pickup_services.pickup_token(order=order)

    local = until.astimezone(order.store.tz)
    assert (local.hour, local.minute) == (0, 0)
    assert dt.timedelta(0) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(days=1)


def test_order_not_yet_ready_is_409_with_its_state(place, stripe_api, api_as, customer_a, barista_store1):
    order = Order.objects.get(pk=place().json()["id"])
    token = qr_token(api_as, order)  # customers may show it early

    response = hand_over(api_as, barista_store1, order.store_id, token=token)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_ready"
    assert response.json()["error"]["fields"] == {"status": "confirmed"}
    assert not stripe_api.calls("POST", r"/capture$")


def test_capture_refused_at_handoff_leaves_the_order_ready_with_a_clear_error(ready_order, stripe_api, api_as,
                                                                               barista_store1):
    order = ready_order()
    token = qr_token(api_as, order)
    stripe_api.fail_next("POST", r"/capture$", mode="error", status=402, error={
        "type": "card_error", "code": "card_declined", "message": "The authorization was reversed by the bank."})

    refused = hand_over(api_as, barista_store1, order.store_id, token=token)

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "capture_failed"
    assert "The authorization was reversed by the bank." in error["message"]
    assert "still ready" in error["message"] and "pay at the till" in error["message"]
    order.refresh_from_db()
    assert order.status == "ready" and order.payment.status == "authorised" and order.payment.busy_since is None
    assert not order.events.filter(to_status="picked_up").exists()

    retry = hand_over(api_as, barista_store1, order.store_id, token=token)  # the bank came round

    assert retry.status_code == 200 and retry.json()["payment"]["status"] == "captured"


def test_stripe_unreachable_at_handoff_is_503_and_the_order_stays_ready(ready_order, stripe_api, api_as,
                                                                         barista_store1):
    order = ready_order()
    stripe_api.fail_next("POST", r"/capture$", mode="error", status=500)

    response = hand_over(api_as, barista_store1, order.store_id, token=qr_token(api_as, order))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payment_provider_unavailable"
    assert Order.objects.get(pk=order.pk).status == "ready"


def test_lost_capture_answer_then_rescan_captures_once(ready_order, stripe_api, api_as, barista_store1):
    order = ready_order()
    token = qr_token(api_as, order)
    stripe_api.fail_next("POST", r"/capture$", mode="drop")

    assert hand_over(api_as, barista_store1, order.store_id, token=token).status_code == 503
    again = hand_over(api_as, barista_store1, order.store_id, token=token)

    assert again.status_code == 200, again.json()
    assert stripe_api.intent()["amount_received"] == 1595
    captures = stripe_api.calls("POST", r"/capture$")
    assert len(captures) == 2 and captures[1].replayed  # the same capture, answered again


def test_capture_webhook_before_the_capture_answer_leaves_the_handoff_to_its_scan(ready_order, stripe_api, api_as,
                                                                                  barista_store1, send_webhook,
                                                                                  monkeypatch):
    """Stripe's payment_intent.succeeded (and a second scan of the same code) arrive while the first scan still
    waits for the answer to its capture: the second scan is told the handoff is under way, and the first one
    moves the order and records what it charged."""
    order = ready_order()
    token = qr_token(api_as, order)
    during = {}
    capture = StripeGateway.capture

    def capture_overtaken_by_webhook(gateway, **options):
        intent = capture(gateway, **options)
        during["webhook"] = send_webhook("payment_intent.succeeded", stripe_api.intent())
        during["second scan"] = hand_over(api_as, barista_store1, order.store_id, token=token)
        return intent

    monkeypatch.setattr(StripeGateway, "capture", capture_overtaken_by_webhook)
    first = hand_over(api_as, barista_store1, order.store_id, token=token)

    assert during["webhook"].json()["outcome"] == "captured"
    assert during["second scan"].status_code == 409
    assert during["second scan"].json()["error"]["code"] == "handoff_in_progress"
    assert first.status_code == 200 and first.json()["status"] == "picked_up"
    [picked_up] = Order.objects.get(pk=order.pk).events.filter(to_status="picked_up")
    assert picked_up.data["payment"]["captured_minor"] == 1595 and picked_up.data["handoff"] == {"via": "qr"}
    assert len(stripe_api.calls("POST", r"/capture$")) == 1


def test_in_store_order_hands_over_without_a_card_payment(menu, api_as, barista_store1):
    placed = api_as(barista_store1).post(f"/api/stores/{menu['latte'].store_id}/orders/", {
        "channel": "counter", "customer_name": "Sam", "items": [{"item": menu["drip"].pk, "quantity": 1}]},
        format="json", **factories.checkout_key())
    order = Order.objects.get(pk=placed.json()["id"])
    assert placed.json()["payment"]["provider"] == "in_store"
    services.order_mark_ready(order=order, actor=barista_store1)
    code = pickup_services.pickup_code(order=order)

    response = hand_over(api_as, barista_store1, order.store_id, code=code, name="Sam")

    assert response.status_code == 200 and response.json()["status"] == "picked_up"


@pytest.mark.parametrize("body", [{}, {"token": "abc", "code": "ABCD", "name": "Ana"}, {"code": "ABCD"},
                                  {"token": 5}, {"code": "X" * 50, "name": "Ana"}])
def test_bad_handoff_input_is_a_400_json(ready_order, api_as, barista_store1, body):
    order = ready_order()

    response = hand_over(api_as, barista_store1, order.store_id, **body)

    assert response.status_code == 400
    assert set(response.json()["error"]) >= {"code", "message"}


def test_only_staff_of_the_store_may_hand_over(ready_order, api_as, customer_a, manager_store2):
    order = ready_order()
    token = qr_token(api_as, order)

    assert hand_over(api_as, customer_a, order.store_id, token=token).status_code == 403
    assert hand_over(api_as, manager_store2, order.store_id, token=token).status_code == 403
    assert Order.objects.get(pk=order.pk).status == "ready"


def test_qr_is_only_for_the_orders_customer_and_only_once_paid(place, stripe_api, api_as, customer_b,
                                                              customer_a):
    paid = place().json()["id"]
    waiting = place(payment_method="").json()["id"]

    assert api_as(customer_b).get(f"/api/orders/{paid}/qr.png").status_code == 404
    unpaid = api_as(customer_a).get(f"/api/orders/{waiting}/qr.svg")
    assert unpaid.status_code == 409 and unpaid.json()["error"]["code"] == "no_pickup_code"


def test_demo_payment_is_captured_by_the_demo_provider(ready_order, api_as, barista_store1):
    order = ready_order()
    assert order.payment.provider == "demo"

    response = hand_over(api_as, barista_store1, order.store_id, token=qr_token(api_as, order))

    assert response.status_code == 200
    assert response.json()["payment"] | {} == {**response.json()["payment"], "demo": True, "status": "captured",
                                               "message": "Demo payment: no card was charged."}
    assert OrderEvent.objects.filter(order=order, to_status="picked_up", actor=barista_store1).count() == 1

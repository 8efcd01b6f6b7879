"""An order's lines in the log: one for its placement and one per committed move, each a JSON line with
the order id and the id of the request that caused it; lines logged inside the payment services carry
the order id too."""

import pytest

from tests import factories
from tests.log_lines import json_log_lines

pytestmark = pytest.mark.django_db


def cart(menu):
    return {"store": menu["latte"].store_id, "items": [{"item": menu["latte"].pk, "quantity": 1}], "pickup": "asap"}


def test_placing_an_order_logs_its_id_with_the_request_id(api_as, customer_a, menu,
                                                          django_capture_on_commit_callbacks):
    with json_log_lines() as lines, django_capture_on_commit_callbacks(execute=True):
        response = api_as(customer_a).post("/api/orders/", cart(menu), format="json", **factories.checkout_key())

    assert response.status_code == 201, response.json()
    order_id, request_id = response.json()["id"], response["X-Request-ID"]
    [placed] = lines.named("order_placed")
    assert placed == {**placed, "order_id": order_id, "request_id": request_id, "store_id": menu["latte"].store_id,
                      "channel": "mobile", "to_status": "pending_payment", "logger": "fulfilment.services.orders"}
    # The demo card is authorised at once: the move to confirmed is logged after its commit.
    [moved] = lines.named("order_moved")
    assert moved == {**moved, "order_id": order_id, "request_id": request_id, "from_status": "pending_payment",
                     "to_status": "confirmed", "channel": "mobile"}
    payment_lines = [line for line in lines.all() if line["logger"].startswith("fulfilment.services.payments")]
    assert payment_lines and all(line["order_id"] == order_id for line in payment_lines)
    [finished] = lines.named("request_finished")
    assert finished["request_id"] == request_id and "order_id" not in finished


def test_a_refused_placement_is_logged_with_its_reason(api_as, customer_a, menu):
    body = {**cart(menu), "items": [{"item": menu["croissant"].pk, "quantity": 6}]}  # 5 in stock
    with json_log_lines() as lines:
        response = api_as(customer_a).post("/api/orders/", body, format="json", **factories.checkout_key())

    assert response.status_code == 409
    [refused] = lines.named("order_place_refused")
    assert refused["request_id"] == response["X-Request-ID"] and refused["code"] == response.json()["error"]["code"] == "out_of_stock"

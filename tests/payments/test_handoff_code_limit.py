"""Short pickup codes are four characters, so guessing them is limited: past HANDOFF_CODE_FAILURES wrong codes
a staff member's code entry at that store is refused with a 429 (Retry-After, the JSON error shape) until
the period ends, and repeated failures are logged. QR scans, colleagues and other stores are unaffected.
The expo screen's socket hands over through the same service, so the same limit holds there."""

import logging

import pytest

from fulfilment.models import Order, OrderStatus
from fulfilment.services import pickup as pickup_services
from orderahead.errors import NotFound, TooManyAttempts
from stores.models import StoreMembership
from tests import factories

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture(autouse=True)
def low_limit(settings):
    settings.HANDOFF_CODE_FAILURES = f"{LIMIT}/min"


def hand_over(api_as, staff, store_id, **body):
    return api_as(staff).post(f"/api/stores/{store_id}/handoff/", body, format="json")


def short_code(api_as, order) -> str:
    return api_as(order.customer).get(f"/api/orders/{order.pk}/").json()["pickup"]["code"]


def wrong_code(right: str) -> str:
    return "".join("A" if c != "A" else "C" for c in right)


def test_wrong_codes_pause_code_entry_for_that_staff_member(ready_order, stripe_api, api_as, barista_store1,
                                                          store):
    order = ready_order(key="limit-1", customer_name="Ana García")
    code = short_code(api_as, order)
    guesses = [hand_over(api_as, barista_store1, store.pk, code=wrong_code(code), name="Ana").status_code
               for _ in range(LIMIT)]
    assert guesses == [404] * LIMIT

    refused = hand_over(api_as, barista_store1, store.pk, code=code, name="Ana")  # even the right one

    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert 1 <= wait <= 60
    error = refused.json()["error"]
    assert error["code"] == "throttled" and "Too many wrong pickup codes" in error["message"]
    assert error["retry_after_s"] == wait
    assert Order.objects.get(pk=order.pk).status == OrderStatus.READY
    # A colleague at the counter is not held up.
    colleague = factories.staff("barista_b", store, "barista")
    assert hand_over(api_as, colleague, store.pk, code=code, name="Ana").status_code == 200


def test_qr_scans_still_work_while_code_entry_is_paused(ready_order, stripe_api, api_as, barista_store1, store):
    order = ready_order(key="limit-2")
    for _ in range(LIMIT):
        hand_over(api_as, barista_store1, store.pk, code="AAAA", name="nobody")
    token, _ = pickup_services.pickup_token(order=order)  # what the customer's QR code holds

    assert hand_over(api_as, barista_store1, store.pk, code="AAAA", name="nobody").status_code == 429
    assert hand_over(api_as, barista_store1, store.pk, token=token).status_code == 200


def test_the_limit_is_per_store(api_as, store, store2):
    manager = factories.staff("manager_both", store, "manager")
    StoreMembership.objects.create(user=manager, store=store2, role="manager")  # and of store 2
    for _ in range(LIMIT):
        assert hand_over(api_as, manager, store.pk, code="AAAA", name="nobody").status_code == 404

    assert hand_over(api_as, manager, store.pk, code="AAAA", name="nobody").status_code == 429
    assert hand_over(api_as, manager, store2.pk, code="AAAA", name="nobody").status_code == 404


def test_repeated_failures_are_logged_with_store_user_and_count(api_as, barista_store1, store, caplog):
    with caplog.at_level(logging.WARNING, logger="fulfilment.services.pickup"):
        for _ in range(LIMIT):
            hand_over(api_as, barista_store1, store.pk, code="AAAA", name="nobody")

    warnings = [r.getMessage() for r in caplog.records if r.name == "fulfilment.services.pickup"]
    assert warnings, "repeated wrong codes were not logged"
    last = warnings[-1]
    assert f"{LIMIT} wrong short codes" in last and f"store {store.pk}" in last and "barista1" in last
    assert "paused" in last


def test_the_service_itself_keeps_the_limit_for_the_expo_socket_too(barista_store1, store):
    """The kitchen socket's handoff action calls pickup_handoff directly, not the API view."""
    for _ in range(LIMIT):
        with pytest.raises(NotFound):
            pickup_services.pickup_handoff(store_id=store.pk, staff=barista_store1, code="AAAA", name="nobody")

    with pytest.raises(TooManyAttempts) as refused:
        pickup_services.pickup_handoff(store_id=store.pk, staff=barista_store1, code="AAAA", name="nobody")
    assert refused.value.status == 429 and 1 <= refused.value.retry_after_s <= 60

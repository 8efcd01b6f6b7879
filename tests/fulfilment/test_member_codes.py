"""Scan to identify (issue 28): the member code a customer shows works once, for two minutes, at the store that
scans it; the serving token it gives the till attaches the counter order to the member, who sees it at once;
an order that is paid can no longer be attached."""

import datetime as dt

import pytest
from django.core import signing
from django.utils import timezone

from fulfilment import services
from fulfilment.models import CustomerProfile, LoyaltyProgram, MemberCodeUse, Order, OrderEvent, OrderStatus, Reward
from fulfilment.services import LineRequest, members
from orderahead.errors import Conflict, DomainError
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(db):
    program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
    Reward.objects.create(program=program, name="Free cookie", stars_cost=10, max_value_minor=300)
    Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)
    Reward.objects.create(program=program, name="Birthday drink", stars_cost=0, max_value_minor=650, is_birthday=True)
    return program


@pytest.fixture
def barista_store2(store2):
    return factories.staff("barista2", store2, "barista")


def identify(api_as, staff, store_id, **body):
    return api_as(staff).post(f"/api/stores/{store_id}/members/identify/", body, format="json")


def place_counter(api_as, staff, store_id, menu, **extra):
    return api_as(staff).post(f"/api/stores/{store_id}/orders/",
                              {"channel": "counter", "items": [{"item": menu["drip"].pk, "quantity": 2}], **extra},
                              format="json", **factories.checkout_key())


def error_of(response):
    return response.json()["error"]


# --- The code ----------------------------------------------------------------------------------------------------

def test_the_app_gets_a_signed_code_that_names_no_account_in_clear_and_lives_two_minutes(api_as, customer_a):
    response = api_as(customer_a).get("/api/me/member-code/")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["refresh_after_s"] == 60
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert 110 <= (expires - timezone.now()).total_seconds() <= 121
    # Signed with its own salt: not a pickup token, and any change breaks it.
    payload = signing.Signer(salt=members.CODE_SALT).unsign_object(body["code"])
    assert payload["m"] == customer_a.pk and len(payload["n"]) >= 16
    assert body["code"] != api_as(customer_a).get("/api/me/member-code/").json()["code"]  # a new nonce each time


def test_the_qr_is_an_svg_of_a_fresh_code_never_cached(api_as, customer_a):
    response = api_as(customer_a).get("/api/me/member-code.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "no-store"
    assert b"<svg" in response.content
    code = response["X-Member-Code"]
    assert signing.Signer(salt=members.CODE_SALT).unsign_object(code)["m"] == customer_a.pk


def test_signed_out_gets_no_code(api):
    assert api.get("/api/me/member-code/").status_code == 401
    assert api.get("/api/me/member-code.svg").status_code == 401


def test_a_code_scanned_gives_the_till_name_balance_affordable_rewards_and_a_serving_token(
        api_as, customer_a, barista_store1, store, program):
    customer_a.first_name = "Ada"
    customer_a.save()
    services.loyalty.loyalty_adjust(member=customer_a, stars=12, actor=barista_store1, reason="welcome")
    code, _ = members.member_code_issue(member=customer_a)

    response = identify(api_as, barista_store1, store.pk, code=code)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["member"] == {"name": "Ada", "balance": 12}
    assert [r["name"] for r in body["rewards"]] == ["Free cookie"]  # 25 stars is too many; birthday aside
    assert body["via"] == "code"
    assert members.member_for_serving(store=store, serving_token=body["serving_token"]) == customer_a
    use = MemberCodeUse.objects.get()
    assert (use.member, use.store, use.scanned_by, use.order) == (customer_a, store, barista_store1, None)


def test_an_expired_code_is_refused_clearly(customer_a, barista_store1, store):
    issued = timezone.now()
    code, expires_at = members.member_code_issue(member=customer_a, now=issued)
    assert expires_at == issued.replace(microsecond=0) + dt.timedelta(seconds=120)

    members.member_identify(store=store, staff=barista_store1, code=code, now=issued + dt.timedelta(seconds=119))
    fresh, _ = members.member_code_issue(member=customer_a, now=issued)
    with pytest.raises(DomainError) as refused:
        members.member_identify(store=store, staff=barista_store1, code=fresh, now=issued + dt.timedelta(seconds=121))

    assert refused.value.status == 400 and refused.value.code == "member_code_expired"
    assert refused.value.message == "This member code has expired; ask the customer to refresh it."
    assert MemberCodeUse.objects.count() == 1


def test_an_altered_code_is_not_ours(api_as, customer_a, customer_b, barista_store1, store):
    code, _ = members.member_code_issue(member=customer_a)
    forged = signing.Signer(salt="another-salt").sign_object({"m": customer_b.pk, "n": "x" * 16, "t": 1})

    for bad in (code[:-2] + "xx", forged, "hello"):
        response = identify(api_as, barista_store1, store.pk, code=bad)
        assert response.status_code == 400
        assert error_of(response)["code"] == "invalid_member_code"
    assert not MemberCodeUse.objects.exists()


def test_a_replayed_scan_is_refused(api_as, customer_a, barista_store1, store):
    code, _ = members.member_code_issue(member=customer_a)
    assert identify(api_as, barista_store1, store.pk, code=code).status_code == 200

    again = identify(api_as, barista_store1, store.pk, code=code)

    assert again.status_code == 409
    assert error_of(again)["code"] == "member_code_used"
    assert "already scanned" in error_of(again)["message"]
    assert MemberCodeUse.objects.count() == 1


def test_a_code_scanned_at_one_store_cannot_be_used_at_another(api_as, customer_a, barista_store1, barista_store2,
                                                               store, store2):
    code, _ = members.member_code_issue(member=customer_a)
    assert identify(api_as, barista_store1, store.pk, code=code).status_code == 200

    elsewhere = identify(api_as, barista_store2, store2.pk, code=code)

    assert elsewhere.status_code == 409
    assert list(MemberCodeUse.objects.values_list("store_id", flat=True)) == [store.pk]


def test_staff_of_another_store_and_customers_are_refused(api_as, customer_a, customer_b, barista_store2, store):
    code, _ = members.member_code_issue(member=customer_a)

    for outsider in (barista_store2, customer_b):
        response = identify(api_as, outsider, store.pk, code=code)
        assert response.status_code == 403
        assert "error" in response.json()
    assert not MemberCodeUse.objects.exists()
    with pytest.raises(DomainError) as refused:  # the service checks too
        members.member_identify(store=store, staff=barista_store2, code=code)
    assert refused.value.status == 403


def test_two_tills_scanning_one_code_one_wins(customer_a, barista_store1, store):
    """Both scans insert the code's nonce; the unique constraint lets the first in and refuses the second in its
    own savepoint, so the second till's transaction stays usable. (Threads racing on PostgreSQL take the same
    path: there is no read before the insert to race past.)"""
    code, _ = members.member_code_issue(member=customer_a)
    second_till = factories.staff("barista1b", store, "barista")
    outcomes = []
    for staff in (barista_store1, second_till):
        try:
            members.member_identify(store=store, staff=staff, code=code)
            outcomes.append("served")
        except Conflict as refused:
            outcomes.append(refused.code)

    assert outcomes == ["served", "member_code_used"]
    assert MemberCodeUse.objects.get().scanned_by == barista_store1


# --- The phone ---------------------------------------------------------------------------------------------------

def test_staff_can_type_the_registered_phone_instead(api_as, customer_a, barista_store1, store):
    CustomerProfile.objects.create(user=customer_a, phone="14155550123")

    response = identify(api_as, barista_store1, store.pk, phone="+1 415-555-0123")

    assert response.status_code == 200, response.content
    assert response.json()["via"] == "phone"
    assert members.member_for_serving(store=store, serving_token=response.json()["serving_token"]) == customer_a
    # Each look-up is recorded (who looked whom up, where), and a second one works too.
    assert identify(api_as, barista_store1, store.pk, phone="14155550123").status_code == 200
    assert MemberCodeUse.objects.filter(member=customer_a, store=store, scanned_by=barista_store1).count() == 2


def test_an_unknown_phone_is_a_404_in_json(api_as, barista_store1, store):
    response = identify(api_as, barista_store1, store.pk, phone="555 0000 999")

    assert response.status_code == 404
    assert error_of(response) == {"code": "unknown_phone", "message": "No member has registered that phone number."}


def test_a_phone_and_a_code_or_neither_is_a_400(api_as, barista_store1, store, customer_a):
    code, _ = members.member_code_issue(member=customer_a)
    assert identify(api_as, barista_store1, store.pk, code=code, phone="14155550123").status_code == 400
    assert identify(api_as, barista_store1, store.pk).status_code == 400
    assert identify(api_as, barista_store1, store.pk, phone="12ab").status_code == 400


# --- The serving token -------------------------------------------------------------------------------------------

def test_the_serving_token_works_at_its_store_for_fifteen_minutes(customer_a, barista_store1, store, store2):
    now = timezone.now()
    code, _ = members.member_code_issue(member=customer_a, now=now)
    serving = members.member_identify(store=store, staff=barista_store1, code=code, now=now)

    assert members.member_for_serving(store=store, serving_token=serving.token,
                                      now=now + dt.timedelta(minutes=14)) == customer_a
    with pytest.raises(DomainError) as late:
        members.member_for_serving(store=store, serving_token=serving.token, now=now + dt.timedelta(minutes=15))
    assert late.value.code == "member_token_expired" and late.value.status == 400
    with pytest.raises(DomainError) as elsewhere:
        members.member_for_serving(store=store2, serving_token=serving.token, now=now)
    assert elsewhere.value.code == "member_token_other_store"
    with pytest.raises(DomainError) as forged:
        members.member_for_serving(store=store, serving_token=serving.token + "x", now=now)
    assert forged.value.code == "invalid_member_token"


def test_a_member_code_is_not_a_serving_token(customer_a, store):
    code, _ = members.member_code_issue(member=customer_a)
    with pytest.raises(DomainError):
        members.member_for_serving(store=store, serving_token=code)


# --- Attaching orders --------------------------------------------------------------------------------------------

def test_a_counter_order_placed_with_the_serving_token_is_the_members_and_in_their_list_at_once(
        api_as, customer_a, barista_store1, store, menu):
    code, _ = members.member_code_issue(member=customer_a)
    token = identify(api_as, barista_store1, store.pk, code=code).json()["serving_token"]

    placed = place_counter(api_as, barista_store1, store.pk, menu, member=token)

    assert placed.status_code == 201, placed.content
    order = Order.objects.get(pk=placed.json()["id"])
    assert (order.customer, order.channel, order.status) == (customer_a, "counter", OrderStatus.CONFIRMED)
    assert order.customer_name == "customer_a"
    assert MemberCodeUse.objects.get().order == order
    mine = api_as(customer_a).get("/api/orders/").json()
    assert [o["id"] for o in mine] == [order.pk]
    assert api_as(customer_a).get(f"/api/orders/{order.pk}/").status_code == 200


def test_one_scan_serves_one_order_and_a_retry_of_it(api_as, customer_a, barista_store1, store, menu):
    code, _ = members.member_code_issue(member=customer_a)
    token = identify(api_as, barista_store1, store.pk, code=code).json()["serving_token"]
    key = factories.checkout_key()
    body = {"channel": "counter", "items": [{"item": menu["drip"].pk, "quantity": 1}], "member": token}

    first = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/", body, format="json", **key)
    retry = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/", body, format="json", **key)
    another = place_counter(api_as, barista_store1, store.pk, menu, member=token)

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"] and retry["Idempotent-Replayed"] == "true"
    assert another.status_code == 409
    assert error_of(another)["code"] == "member_token_used"
    assert "scan the member's code again" in error_of(another)["message"]
    assert Order.objects.count() == 1


def test_a_refused_order_leaves_the_scan_for_the_corrected_one(api_as, customer_a, barista_store1, store, menu):
    code, _ = members.member_code_issue(member=customer_a)
    token = identify(api_as, barista_store1, store.pk, code=code).json()["serving_token"]
    too_many = api_as(barista_store1).post(
        f"/api/stores/{store.pk}/orders/", {"channel": "counter", "member": token,
                                            "items": [{"item": menu["croissant"].pk, "quantity": 6}]},
        format="json", **factories.checkout_key())  # 5 in stock
    assert too_many.status_code == 409

    assert place_counter(api_as, barista_store1, store.pk, menu, member=token).status_code == 201
    assert MemberCodeUse.objects.get().order.customer == customer_a


def test_a_counter_order_without_a_member_belongs_to_no_one(api_as, barista_store1, store, menu, customer_a):
    placed = place_counter(api_as, barista_store1, store.pk, menu)

    assert placed.status_code == 201
    assert Order.objects.get(pk=placed.json()["id"]).customer is None
    assert api_as(customer_a).get("/api/orders/").json() == []


def test_a_serving_token_from_another_store_or_a_bad_one_places_nothing(api_as, customer_a, barista_store1,
                                                                       barista_store2, store, store2, menu):
    code, _ = members.member_code_issue(member=customer_a)
    token = identify(api_as, barista_store2, store2.pk, code=code).json()["serving_token"]

    for member in (token, "nonsense"):
        placed = place_counter(api_as, barista_store1, store.pk, menu, member=member)
        assert placed.status_code == 400
        assert error_of(placed)["code"] in ("member_token_other_store", "invalid_member_token")
    assert not Order.objects.exists()


def test_attaching_is_refused_once_the_order_is_paid(customer_a, barista_store1, store, menu):
    order, _ = services.order_place(store_id=store.pk, channel="counter", placed_by=barista_store1,
                                    lines=[LineRequest(item_id=menu["drip"].pk, quantity=1)])
    assert order.status == OrderStatus.CONFIRMED  # paid at the till as it was placed

    with pytest.raises(Conflict) as refused:
        members.member_attach(order=order, member=customer_a, actor=barista_store1)

    assert refused.value.code == "already_paid" and refused.value.status == 409
    assert "already paid" in refused.value.message
    order.refresh_from_db()
    assert order.customer is None


def test_an_order_awaiting_payment_can_be_attached_once(customer_a, customer_b, barista_store1, store, menu):
    order, _ = services.order_place(store_id=store.pk, channel="counter", placed_by=barista_store1,
                                    lines=[LineRequest(item_id=menu["drip"].pk, quantity=1)])
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PENDING_PAYMENT)  # e.g. a card kiosk, not paid yet

    members.member_attach(order=order, member=customer_a, actor=barista_store1)

    order.refresh_from_db()
    assert order.customer == customer_a
    event = order.events.order_by("id").last()
    assert (event.kind, event.actor, event.data["member"]) == (OrderEvent.MEMBER_ADDED, barista_store1, customer_a.pk)
    with pytest.raises(Conflict) as again:
        members.member_attach(order=order, member=customer_b, actor=barista_store1)
    assert again.value.code == "already_attached"


# --- The member card (GET/PATCH /api/me/loyalty/) ----------------------------------------------------------------

def test_the_card_shows_balance_rewards_and_the_latest_twenty_changes(api_as, customer_a, barista_store1, program):
    for n in range(22):
        services.loyalty.loyalty_adjust(member=customer_a, stars=1, actor=barista_store1, reason=f"goodwill {n}")

    body = api_as(customer_a).get("/api/me/loyalty/").json()

    assert body["balance"] == 22
    assert [r["name"] for r in body["rewards"]] == ["Birthday drink", "Free cookie", "Free drink"]
    assert len(body["history"]) == 20
    assert body["history"][0]["reason"] == "goodwill 21"
    assert set(body["history"][0]) == {"kind", "kind_label", "stars", "reason", "order", "at"}
    assert (body["phone"], body["birthday"]) == (None, None)


def test_registering_a_phone_checks_it_and_keeps_it_unique(api_as, customer_a, customer_b):
    mine = api_as(customer_a).patch("/api/me/loyalty/", {"phone": "+44 20-7946 0958"}, format="json")
    assert mine.status_code == 200 and mine.json()["phone"] == "442079460958"

    taken = api_as(customer_b).patch("/api/me/loyalty/", {"phone": "442079460958"}, format="json")
    assert taken.status_code == 409
    assert error_of(taken)["message"] == "Another member has registered this phone number."

    for bad in ("123456", "1" * 16, "12-34-ab-56"):
        response = api_as(customer_b).patch("/api/me/loyalty/", {"phone": bad}, format="json")
        assert response.status_code == 400, bad
    assert api_as(customer_a).patch("/api/me/loyalty/", {"phone": ""}, format="json").json()["phone"] is None
    assert api_as(customer_b).patch("/api/me/loyalty/", {"phone": "442079460958"}, format="json").status_code == 200


def test_the_birthday_is_set_once(api_as, customer_a):
    first = api_as(customer_a).patch("/api/me/loyalty/", {"birthday": "1990-04-02"}, format="json")
    assert first.status_code == 200 and first.json()["birthday"] == "1990-04-02"
    assert api_as(customer_a).patch("/api/me/loyalty/", {"birthday": "1990-04-02"}, format="json").status_code == 200

    moved = api_as(customer_a).patch("/api/me/loyalty/", {"birthday": "1990-12-06"}, format="json")
    assert moved.status_code == 409 and error_of(moved)["code"] == "birthday_set"


@pytest.mark.django_db(transaction=True)
def test_the_member_earns_stars_after_their_counter_order_is_picked_up(api_as, customer_a, barista_store1, store,
                                                                       menu, program):
    code, _ = members.member_code_issue(member=customer_a)
    token = identify(api_as, barista_store1, store.pk, code=code).json()["serving_token"]
    order = Order.objects.get(pk=place_counter(api_as, barista_store1, store.pk, menu, member=token).json()["id"])

    services.order_mark_ready(order=order, actor=barista_store1)
    services.order_pick_up(order=order, actor=barista_store1)

    card = api_as(customer_a).get("/api/me/loyalty/").json()
    assert card["balance"] == 2 * 5  # two drip coffees, 500 before tax: 5 dollars x 2
    assert card["history"][0]["order"] == order.pk and card["history"][0]["kind"] == "earn"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_tills_scanning_one_code_at_once_serve_one(store):
    """Each till is a thread with its own connection, released together (test_concurrency_postgres'
    run_together): one scan is served, the other nine are told the code was used, and nothing raises."""
    from rest_framework.test import APIClient

    from tests.fulfilment.test_concurrency_postgres import Answer, run_together

    member = factories.user("racer")
    tills = [factories.staff(f"till{n}", store, "barista") for n in range(10)]
    code, _ = members.member_code_issue(member=member)

    def scan(staff):
        def call():
            client = APIClient(raise_request_exception=False)
            client.force_authenticate(staff)
            response = client.post(f"/api/stores/{store.pk}/members/identify/", {"code": code}, format="json")
            return Answer(status=response.status_code, body=response.json())
        return call

    answers = [(a.status, (a.body or {}).get("error", {}).get("code"), a.error)
               for a in run_together([scan(staff) for staff in tills])]

    assert sorted(answers, key=str) == sorted([(200, None, "")] + [(409, "member_code_used", "")] * 9, key=str), answers
    assert MemberCodeUse.objects.filter(member=member).count() == 1

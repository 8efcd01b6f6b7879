"""The API against its own OpenAPI schema: Schemathesis generates requests from `/api/schema/` for the
public endpoints and the customer's order endpoints, and every answer must be a declared status with
the declared content type and body schema, and never a 500.

Cases are often steered onto real data (the seeded store, a valid cart of its menu, the customer's own
or another customer's order, real credentials), and a quarter are sent signed out, so the run reaches
the success paths and the 401/404/409 answers as well as the validation errors.
"""

import datetime as dt

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fulfilment import services
from fulfilment.models import Channel, Favourite
from tests import factories
from tests.fulfilment.notification_doubles import Browser

OPERATIONS = [
    ("GET", "/api/stores/"),
    ("GET", "/api/stores/{store_id}/"),
    ("GET", "/api/stores/{store_id}/menu/"),
    ("POST", "/api/stores/{store_id}/quote/"),
    ("POST", "/api/auth/register/"),
    ("POST", "/api/auth/login/"),
    ("GET", "/api/orders/"),
    ("POST", "/api/orders/"),
    ("GET", "/api/orders/{order_id}/"),
    ("POST", "/api/orders/{order_id}/cancel/"),
    ("GET", "/api/orders/{order_id}/reorder/"),
    ("GET", "/api/favourites/"),
    ("POST", "/api/favourites/"),
    ("DELETE", "/api/favourites/{favourite_id}/"),
    ("GET", "/api/me/notifications/"),
    ("PATCH", "/api/me/notifications/"),
    ("POST", "/api/me/push-subscriptions/"),
    ("DELETE", "/api/me/push-subscriptions/"),
    ("GET", "/api/me/member-code/"),
    ("GET", "/api/me/loyalty/"),
    ("PATCH", "/api/me/loyalty/"),
    ("GET", "/api/me/data/"),
]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 25  # about 20 s for the eighteen operations; raise it locally to dig deeper


@pytest.fixture
def seeded(transactional_db):
    """An open store with the coffee menu, a signed-in customer with one order, another customer's order."""
    store = factories.open_store(name="Schema Store", slug="schema-store", timezone=factories.midday_timezone())
    menu = factories.coffee_menu(store)
    customer = factories.user("schema_customer")
    other = factories.user("schema_other")
    line = [services.LineRequest(item_id=menu["drip"].pk, quantity=1)]
    own, _ = services.order_place(store_id=store.pk, channel=Channel.MOBILE, lines=line, customer=customer)
    foreign, _ = services.order_place(store_id=store.pk, channel=Channel.MOBILE, lines=line, customer=other)
    favourites = [Favourite.objects.create(user=user, item=menu["latte"], option_ids=[menu["small"].pk])
                  for user in (customer, other)]
    return {"store": store, "menu": menu, "customer": customer, "token": Token.objects.create(user=customer).key,
            "order_ids": [own.pk, foreign.pk], "favourite_ids": [f.pk for f in favourites]}


# Loaded at import: pytest-django has set Django up by then, and building the schema needs no database.
# (Not `schemathesis.pytest.from_fixture`: its lazy runner sets `Function._nodeid`, which pytest 9 removed.)
# The examples phase is off because it cannot be combined with `@schema.given`; the fuzzing phase runs.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", get_wsgi_application(),
    config=schemathesis.Config.from_dict({"phases": {"examples": {"enabled": False}}}),
).include(lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in OPERATIONS)


def valid_carts(seeded):
    """Carts the seeded store can take: its items, in-range quantities, modifiers of the right groups."""
    menu = seeded["menu"]
    soon = factories.local_now(seeded["store"]).replace(second=0, microsecond=0) + dt.timedelta(minutes=30)
    pickup = st.one_of(st.just("asap"), st.integers(0, 20).map(  # store-local times, 30 min to 5.5 h ahead
        lambda quarters: (soon + dt.timedelta(minutes=15 * quarters)).replace(tzinfo=None).isoformat()))
    size = st.sampled_from([[], [menu["small"].pk], [menu["large"].pk]])  # none: the default size is filled in
    milk = st.sampled_from([[], [menu["oat"].pk], [menu["almond"].pk]])
    latte = st.fixed_dictionaries({"item": st.just(menu["latte"].pk), "quantity": st.integers(1, 3),
                                   "modifiers": st.tuples(size, milk).map(lambda chosen: chosen[0] + chosen[1])})
    other = st.fixed_dictionaries({"item": st.sampled_from([menu["drip"].pk, menu["croissant"].pk]),
                                   "quantity": st.integers(1, 2)})
    return st.fixed_dictionaries({
        "store": st.just(seeded["store"].pk), "pickup": pickup,
        "items": st.lists(st.one_of(latte, other), min_size=1, max_size=3),
    }, optional={"customer_name": st.text(max_size=20)})


@schema.parametrize()
@schema.given(data=st.data())
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
# Requests go through the real WSGI handler, whose request_started/finished signals close "old"
# connections; inside a test transaction that would close it mid-test (PostgreSQL), so commit for real.
@pytest.mark.django_db(transaction=True)
def test_api_matches_its_schema(case, data, seeded):
    def steer(label: str) -> bool:
        return data.draw(st.booleans(), label=label)

    path = case.operation.path
    if "store_id" in case.path_parameters and steer("the seeded store"):
        case.path_parameters["store_id"] = seeded["store"].pk
    if "order_id" in case.path_parameters and steer("a real order"):
        case.path_parameters["order_id"] = data.draw(st.sampled_from(seeded["order_ids"]), label="own or other's")
    if "favourite_id" in case.path_parameters and steer("a real favourite"):
        case.path_parameters["favourite_id"] = data.draw(st.sampled_from(seeded["favourite_ids"]), label="whose")
    if path in ("/api/orders/", "/api/stores/{store_id}/quote/") and case.method == "POST" and steer("valid cart"):
        case.body = data.draw(valid_carts(seeded), label="cart")
    if path == "/api/favourites/" and case.method == "POST" and steer("a cart line"):
        case.body = data.draw(valid_carts(seeded), label="cart")["items"][0]
    if path == "/api/me/push-subscriptions/" and case.method == "POST" and steer("a browser's subscription"):
        case.body = Browser(endpoint=f"https://fcm.googleapis.com/fcm/send/{data.draw(st.uuids())}").subscription()
    if path == "/api/auth/login/" and steer("real credentials"):
        case.body = {"username": seeded["customer"].username, "password": factories.PASSWORD}
    signed_in = data.draw(st.sampled_from([True, True, True, False]), label="signed in")

    headers = {"Authorization": f"Token {seeded['token']}"} if signed_in else {}
    case.call_and_validate(headers=headers, checks=CHECKS)

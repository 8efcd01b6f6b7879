"""The public store API: the list (nearest first on request), one store, and its live menu."""

import datetime as dt

import pytest

from stores.models import MenuItem, ModifierOption
from tests import factories

pytestmark = pytest.mark.django_db

# Portland, Seattle and San Francisco.
PDX, SEA, SFO = (45.5152, -122.6784), (47.6062, -122.3321), (37.7749, -122.4194)


@pytest.fixture
def chain(db):
    return {name: factories.open_store(name=name, slug=name.lower(), latitude=lat, longitude=lng)
            for name, (lat, lng) in {"Portland": PDX, "Seattle": SEA, "San Francisco": SFO}.items()}


def test_list_shows_every_store_by_name(api, chain):
    response = api.get("/api/stores/")

    assert response.status_code == 200
    body = response.json()
    assert [s["name"] for s in body] == ["Portland", "San Francisco", "Seattle"]
    assert all(s["distance_m"] is None for s in body)
    portland = body[0]
    assert portland["slug"] == "portland" and portland["timezone"] == "America/Los_Angeles"
    assert portland["mobile_ordering"] == {"paused": False, "reason": "", "resumes_at": None}
    assert len(portland["opening_hours"]) == 7
    assert portland["opening_hours"][0] == {"weekday": 0, "weekday_name": "Monday", "opens": "00:00:00",
                                            "closes": "23:59:59"}


def test_near_orders_stores_by_distance(api, chain):
    response = api.get("/api/stores/", {"near": "47.61,-122.33"})  # downtown Seattle

    assert response.status_code == 200
    body = response.json()
    assert [s["name"] for s in body] == ["Seattle", "Portland", "San Francisco"]
    seattle, portland, san_francisco = (s["distance_m"] for s in body)
    assert seattle < 1_000
    assert 230_000 < portland < 240_000  # Seattle-Portland is about 234 km
    assert 1_080_000 < san_francisco < 1_100_000


def test_near_accepts_spaces_and_the_edges_of_the_globe(api, chain):
    assert api.get("/api/stores/", {"near": " 37.77 , -122.42 "}).json()[0]["name"] == "San Francisco"
    assert api.get("/api/stores/", {"near": "-90,180"}).status_code == 200


@pytest.mark.parametrize("near", ["seattle", "47.6", "47.6,-122.3,5", "91,0", "0,-181", "nan,0", "inf,0", ","])
def test_bad_near_is_a_400(api, chain, near):
    response = api.get("/api/stores/", {"near": near})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"].startswith("near: ")


def test_detail_shows_one_store(api, store):
    response = api.get(f"/api/stores/{store.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["currency"]) == (store.pk, "Store One", "USD")
    assert (body["slot_minutes"], body["slot_capacity"], body["min_lead_minutes"]) == (5, 4, 5)


@pytest.mark.parametrize("path", ["/api/stores/999999/", "/api/stores/999999/menu/", f"/api/stores/{10**20}/"])
def test_unknown_store_is_a_json_404(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_pause_is_shown_with_its_reason_and_end(api, store):
    until = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=2)
    store.mobile_paused, store.pause_reason, store.paused_until = True, "Power cut", until
    store.save()

    mobile = api.get(f"/api/stores/{store.pk}/").json()["mobile_ordering"]

    assert (mobile["paused"], mobile["reason"]) == (True, "Power cut")
    assert dt.datetime.fromisoformat(mobile["resumes_at"]) == until
    assert api.get(f"/api/stores/{store.pk}/menu/").json()["store"]["mobile_ordering"]["paused"] is True


def test_pause_that_has_ended_is_not_shown(api, store):
    store.mobile_paused, store.pause_reason = True, "Power cut"
    store.paused_until = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    store.save()

    mobile = api.get(f"/api/stores/{store.pk}/").json()["mobile_ordering"]

    assert mobile == {"paused": False, "reason": "", "resumes_at": None}


# --- Menu -----------------------------------------------------------------------------------------------------

def menu_items(api, store) -> dict[str, dict]:
    response = api.get(f"/api/stores/{store.pk}/menu/")
    assert response.status_code == 200
    return {item["name"]: item for category in response.json()["categories"] for item in category["items"]}


def test_menu_lists_categories_items_and_modifier_groups(api, store, menu):
    response = api.get(f"/api/stores/{store.pk}/menu/")

    assert response.status_code == 200
    body = response.json()
    assert body["store"]["id"] == store.pk
    assert [(c["name"], [i["name"] for i in c["items"]]) for c in body["categories"]] == [
        ("Drinks", ["Drip coffee", "Latte"]), ("Food", ["Croissant"])]
    latte = menu_items(api, store)["Latte"]
    assert (latte["price_minor"], latte["currency"], latte["station"], latte["max_quantity"]) == (
        450, "USD", "espresso", 10)
    assert (latte["available"], latte["unavailable_reason"], latte["stock_count"]) == (True, "", None)
    groups = {g["name"]: g for g in latte["modifier_groups"]}
    assert (groups["Size"]["min_choices"], groups["Size"]["max_choices"]) == (1, 1)
    assert (groups["Milk"]["min_choices"], groups["Milk"]["max_choices"]) == (0, 1)
    size = {o["name"]: o for o in groups["Size"]["options"]}
    assert size["Small"]["is_default"] is True and size["Small"]["price_delta_minor"] == 0
    assert (size["Large"]["price_delta_minor"], size["Large"]["extra_prep_seconds"]) == (90, 10)
    assert all(o["available"] for o in size.values())


def test_menu_shows_live_stock(api, store, menu):
    assert menu_items(api, store)["Croissant"]["stock_count"] == 5
    MenuItem.objects.filter(pk=menu["croissant"].pk).update(stock_count=2)

    croissant = menu_items(api, store)["Croissant"]

    assert (croissant["stock_count"], croissant["available"]) == (2, True)


def test_menu_shows_sold_out_and_86_items_as_unavailable(api, store, menu):
    MenuItem.objects.filter(pk=menu["croissant"].pk).update(stock_count=0)
    MenuItem.objects.filter(pk=menu["drip"].pk).update(eighty_sixed=True)

    items = menu_items(api, store)

    assert (items["Croissant"]["available"], items["Croissant"]["unavailable_reason"]) == (False, "sold out")
    assert items["Croissant"]["stock_count"] == 0
    assert (items["Drip coffee"]["available"], items["Drip coffee"]["unavailable_reason"]) == (
        False, "temporarily unavailable")
    assert items["Latte"]["available"] is True


def test_menu_shows_an_unavailable_modifier(api, store, menu):
    ModifierOption.objects.filter(pk=menu["oat"].pk).update(is_available=False)

    milk = next(g for g in menu_items(api, store)["Latte"]["modifier_groups"] if g["name"] == "Milk")

    assert {o["name"]: o["available"] for o in milk["options"]} == {"Almond": True, "Oat": False}


def test_menu_hides_items_taken_off_the_menu(api, store, menu):
    MenuItem.objects.filter(pk=menu["drip"].pk).update(is_active=False)

    assert set(menu_items(api, store)) == {"Latte", "Croissant"}


def test_menu_shows_only_this_stores_items(api, store, store2, menu):
    factories.MenuItemFactory(store=store2, name="Store Two Mocha")

    assert set(menu_items(api, store)) == {"Latte", "Drip coffee", "Croissant"}
    assert set(menu_items(api, store2)) == {"Store Two Mocha"}


def test_store_api_is_read_only(api_as, customer_a, store):
    client = api_as(customer_a)

    assert client.post("/api/stores/", {"name": "Mine"}, format="json").status_code == 405
    assert client.patch(f"/api/stores/{store.pk}/", {"name": "Mine"}, format="json").status_code == 405
    assert client.put(f"/api/stores/{store.pk}/menu/", {}, format="json").status_code == 405
    store.refresh_from_db()
    assert store.name == "Store One"

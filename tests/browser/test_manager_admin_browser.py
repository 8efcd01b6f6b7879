"""The back office as a store manager who has never seen Django uses it, on a 1280x800 laptop, through what the
screen says (roles, labels, text): sign in at /admin/, set up a week's staffing and see the lanes it gives,
86 oat milk and bring it back, add a barista who then signs in to the kitchen screen, pause mobile ordering
with a reason and an end time, edit a price as "4.50", find an order by its pickup code and read its
history; and never see the other store of the chain.

Each step is checked where it matters to customers and the kitchen: the customer menu API, the quote, the
staffing rows and the re-planned queue in the server's database. Screenshots go to test-artifacts/ (and to
docs/screenshots/admin-*.png with UPDATE_SCREENSHOTS=1); docs/MANAGERS.md shows them.
"""

import datetime as dt
import re
import time
import urllib.error
import zoneinfo

import pytest

from tests.browser.conftest import PASSWORD, admin_sign_in, save_screenshot, seeded_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAPTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1, "locale": "en-US"}
EXPECT_TIMEOUT_MS = 30_000

# Maya manages Harbour Roasters (open all day, in a zone where it is about noon now) and nothing else; Pearl
# Street Coffee is another store of the chain with the same menu, which she must never see. Bea is Harbour's
# barista, Cy a customer.
SEED = f"""
import json
from tests import factories
from stores.models import StoreMembership
store = factories.open_store(name="Harbour Roasters", slug="harbour-roasters", address="200 Harbour Way",
                             timezone=factories.midday_timezone(), max_days_ahead=2)
menu = factories.coffee_menu(store)
other = factories.open_store(name="Pearl Street Coffee", slug="pearl-street", address="12 Pearl St",
                             timezone=factories.midday_timezone())
other_menu = factories.coffee_menu(other)
for username, first_name, at, role in (("maya", "Maya", store, "manager"), ("bea", "Bea", store, "barista"),
                                       ("pearl.manager", "Pat", other, "manager")):
    member = factories.user(username, first_name=first_name, is_staff=(role == "manager"))
    member.set_password({PASSWORD!r}); member.save()
    StoreMembership.objects.create(user=member, store=at, role=role)
customer = factories.user("customer", first_name="Cy", email="cy@example.com")
customer.set_password({PASSWORD!r}); customer.save()
print(json.dumps({{"store": store.pk, "other_store": other.pk, "espresso": menu["espresso"].pk,
                  "latte": menu["latte"].pk, "drip": menu["drip"].pk, "oat": menu["oat"].pk,
                  "large": menu["large"].pk, "other_oat": other_menu["oat"].pk, "other_latte": other_menu["latte"].pk,
                  "timezone": store.timezone}}))
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """This module's own server and seed (the phone tests' `live` has no manager); `chromium` uses it."""
    yield from seeded_server(tmp_path_factory, "admin", SEED)


def new_laptop(browser):
    context = browser.new_context(**LAPTOP)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    return context


@pytest.fixture
def admin_page(chromium, live):
    """Maya's laptop, signed in to the back office as she would: the login form at /admin/."""
    from playwright.sync_api import expect

    context = new_laptop(chromium)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    admin_sign_in(page, f"{live.base}/admin/", "maya")
    expect(page.get_by_role("heading", name="Your stores")).to_be_visible()
    yield page
    context.close()
    assert errors == [], errors


# --- Steps, by what the screen says ---------------------------------------------------------------------------

def go_home(page) -> None:
    page.get_by_role("link", name="Back office", exact=True).click()


def open_from_home(page, section: str) -> None:
    """Home, then a section of the index ("Stations", "Modifier options", ...)."""
    from playwright.sync_api import expect

    go_home(page)
    page.get_by_role("link", name=section, exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def run_action(page, rows: list[str], action: str) -> None:
    """Tick the named rows of a list and run one of its actions (the "Action:" drop-down and "Go")."""
    for row in rows:
        page.get_by_role("checkbox", name=re.compile(rf"Select this object for an action - {re.escape(row)}$")).check()
    page.get_by_role("combobox", name=re.compile("^Action")).select_option(label=action)
    page.get_by_role("button", name="Go").click()


def list_row(page, link: str):
    """The row of a list whose link reads `link`."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=link, exact=True))


def success_message(page):
    return page.locator("ul.messagelist li.success")  # Django's message list has no role of its own


def place_order(server, customer_name: str, items: list[dict], store: str = "store") -> dict:
    token = server.token("customer")
    return server.api("/orders/", {"store": server.ids[store], "items": items, "pickup": "asap",
                                   "customer_name": customer_name}, token=token)


def poll(read, expected, timeout: float = 30):
    """`read()` once it returns `expected` (the server re-plans after the admin's save commits)."""
    deadline = time.monotonic() + timeout
    while (value := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return value


def menu_item(server, item: str, store: str = "store") -> dict:
    """The item as the customer app gets it from the menu API."""
    menu = server.api(f"/stores/{server.ids[store]}/menu/")
    return next(entry for category in menu["categories"] for entry in category["items"]
                if entry["id"] == server.ids[item])


def menu_option(server, item: str, option_id: int, store: str = "store") -> dict:
    return next(option for group in menu_item(server, item, store)["modifier_groups"] for option in group["options"]
                if option["id"] == option_id)


def quote_status(server, modifiers: list[int]) -> int:
    try:
        server.api(f"/stores/{server.ids['store']}/quote/", {
            "items": [{"item": server.ids["latte"], "quantity": 1, "modifiers": modifiers}], "pickup": "asap"})
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def bump_on_the_kitchen_screen(browser, server, order_id: int, *, username: str = "bea", password: str = PASSWORD):
    """`username` signs in to the kitchen screen, opens the espresso station and bumps the order's ticket."""
    from playwright.sync_api import expect

    context = new_laptop(browser)
    try:
        screen = context.new_page()
        screen.goto(f"{server.base}/kds/login/")
        screen.get_by_label("Username").fill(username)
        screen.get_by_label("Password").fill(password)
        screen.get_by_role("button", name="Sign in").click()
        screen.get_by_role("link", name="espresso").click()
        ticket = screen.get_by_role("article").filter(has_text=f"#{order_id}")
        ticket.get_by_role("button", name="Bump").click()
        expect(ticket).to_have_count(0)
    finally:
        context.close()


def scroll_to_top(locator) -> None:
    locator.evaluate("element => element.scrollIntoView({block: 'start'})")


def store_today(server) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(server.ids["timezone"])).date()


# --- The walk -------------------------------------------------------------------------------------------------

# Weekday mornings have three on the bar, middays one, afternoons two; weekends three from eight, then one.
# Every day has one lane from 11:00, so now (about noon at the store) runs on one lane.
WEEK = [(day, "06:30", 3) for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")] + \
       [(day, "11:00", 1) for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")] + \
       [(day, "15:00", 2) for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")] + \
       [(day, "08:00", 3) for day in ("Saturday", "Sunday")] + [(day, "11:00", 1) for day in ("Saturday", "Sunday")]


def espresso_lanes(server, order_ids: list[int]) -> set:
    marks = ",".join("?" * len(order_ids))
    return {lane for (lane,) in server.sql(f"SELECT planned_lane FROM fulfilment_orderline WHERE order_id IN ({marks})",
                                           *order_ids)}


def test_week_of_staffing_on_the_station_page_shows_its_lanes_and_replans_the_queue(admin_page, live):
    from playwright.sync_api import expect

    # Two drinks waiting on the espresso bar: on its default two lanes, side by side.
    waiting = [place_order(live, "Robin", [{"item": live.ids["latte"], "quantity": 1}])["id"],
               place_order(live, "Sam", [{"item": live.ids["drip"], "quantity": 1}])["id"]]
    assert espresso_lanes(live, waiting) == {0, 1}

    page = admin_page
    open_from_home(page, "Stations")
    expect(page.get_by_role("link", name=re.compile("Pearl Street"))).to_have_count(0)
    page.get_by_role("link", name="espresso", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("espresso"))).to_be_visible()

    staffing = page.get_by_role("group", name=re.compile("Staffing by weekday"))
    for day, starts, lanes in WEEK:
        staffing.get_by_role("button", name=re.compile("Add another", re.I)).click()
        row = staffing.get_by_role("row").filter(has=page.get_by_role("spinbutton")).last
        row.get_by_role("combobox", name="Weekday").select_option(label=day)
        row.get_by_role("textbox", name="From (local time)").fill(starts)
        row.get_by_role("spinbutton", name="Lanes").fill(str(lanes))
    page.get_by_role("button", name="Save and continue editing").click()

    expect(success_message(page)).to_contain_text("was changed successfully")
    week = page.get_by_role("group", name="Lanes over the week")
    expect(week.get_by_role("row", name=re.compile("^Monday"))).to_contain_text(
        "00:00 1 lane · 06:30 3 lanes · 11:00 1 lane · 15:00 2 lanes")
    expect(week.get_by_role("row", name=re.compile("^Saturday"))).to_contain_text(
        "00:00 2 lanes · 08:00 3 lanes · 11:00 1 lane")
    scroll_to_top(week)  # the week above, the first staffing rows below
    save_screenshot(page, "admin-staffing")

    weekdays = {"Monday": 0, "Tuesday": 1, "Wednesday": 2, "Thursday": 3, "Friday": 4, "Saturday": 5, "Sunday": 6}
    saved = live.sql("SELECT weekday, strftime('%H:%M', starts), lanes FROM stores_staffingperiod "
                     "WHERE station_id = ?", live.ids["espresso"])
    assert sorted(saved) == sorted((weekdays[day], starts, lanes) for day, starts, lanes in WEEK)
    # One lane now: the queue was re-planned at once, the two drinks now one after the other.
    assert poll(lambda: espresso_lanes(live, waiting), {0}) == {0}


def test_oat_milk_86d_from_the_options_list_and_back_from_the_milk_group(admin_page, live):
    from playwright.sync_api import expect

    page = admin_page
    open_from_home(page, "Modifier options")
    expect(page.get_by_role("link", name="Oat", exact=True)).to_have_count(1)  # Pearl Street's oat milk is not here
    run_action(page, ["Milk: Oat"], "86 (unavailable) selected options")
    expect(success_message(page)).to_have_text("86'd 1 option: Oat.")
    expect(list_row(page, "Oat").get_by_role("checkbox", name="Available")).not_to_be_checked()
    save_screenshot(page, "admin-options-86")

    # Customers see it at once: the menu says so and a quote with oat milk is refused.
    assert menu_option(live, "latte", live.ids["oat"])["available"] is False
    assert quote_status(live, [live.ids["oat"]]) == 409  # modifier_unavailable
    assert menu_option(live, "other_latte", live.ids["other_oat"], store="other_store")["available"] is True

    # The delivery came: tick it again on the Milk group's page.
    open_from_home(page, "Modifier groups")
    expect(list_row(page, "Milk")).to_contain_text("Oat (+$0.70 USD, 86'd)")
    page.get_by_role("link", name="Milk", exact=True).click()
    options = page.get_by_role("group", name=re.compile("Modifier options"))
    options.get_by_role("row").filter(has_text="Milk: Oat").get_by_role("checkbox", name="Available").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(success_message(page)).to_contain_text("was changed successfully")
    assert menu_option(live, "latte", live.ids["oat"])["available"] is True
    assert quote_status(live, [live.ids["oat"]]) == 200


def test_manager_adds_a_barista_who_then_works_the_kitchen_screen(admin_page, live, chromium):
    from playwright.sync_api import expect

    page = admin_page
    open_from_home(page, "Store memberships")
    expect(page.get_by_role("heading", name=re.compile("Staff at your stores"))).to_be_visible()
    page.get_by_role("link", name=re.compile("Add store membership", re.I)).click()
    expect(page.get_by_role("heading", name="Add a barista")).to_be_visible()
    page.get_by_label("Username").fill("sam.k")
    page.get_by_label("Password").fill("flat-white-2026")
    store = page.get_by_label("Store")
    assert store.locator("option").all_inner_texts() == ["---------", "Harbour Roasters"]  # her store only
    expect(store).to_have_value(str(live.ids["store"]))  # her only store, already chosen
    expect(page.get_by_label("Role")).to_have_value("barista")
    save_screenshot(page, "admin-add-barista")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(success_message(page)).to_contain_text("was added successfully")
    expect(page.get_by_role("link", name=re.compile("sam.k"))).to_be_visible()

    # Sam signs in to the kitchen screen with the new account and bumps a drink.
    order = place_order(live, "Noor", [{"item": live.ids["drip"], "quantity": 1}])
    bump_on_the_kitchen_screen(chromium, live, order["id"], username="sam.k", password="flat-white-2026")
    assert live.sql("SELECT status FROM fulfilment_order WHERE id = ?", order["id"]) == [("ready",)]


def test_pause_mobile_ordering_with_a_reason_until_tomorrow_afternoon_then_resume(admin_page, live):
    from playwright.sync_api import expect

    page = admin_page
    open_from_home(page, "Stores")
    run_action(page, ["Harbour Roasters"], "Pause mobile ordering at selected stores, with a reason and an end time…")
    expect(page.get_by_role("heading", name="Pause mobile ordering")).to_be_visible()
    page.get_by_label("Reason").fill("Espresso machine down")
    tomorrow = store_today(live) + dt.timedelta(days=1)
    page.get_by_label("Until").fill(f"{tomorrow:%Y-%m-%d}T15:00")
    save_screenshot(page, "admin-pause")
    page.get_by_role("button", name="Pause mobile ordering").click()

    expect(success_message(page)).to_have_text(f"Mobile ordering paused at 1 store until {tomorrow:%a %d %b} 15:00 "
                                               f"local time.")
    row = list_row(page, "Harbour Roasters")
    expect(row).to_contain_text(f"Paused until {tomorrow:%a} 15:00")
    store = live.api(f"/stores/{live.ids['store']}/")
    assert store["mobile_ordering"]["paused"] is True
    assert store["mobile_ordering"]["reason"] == "Espresso machine down"

    run_action(page, ["Harbour Roasters"], "Resume mobile ordering at selected stores")
    expect(success_message(page)).to_have_text("Mobile ordering resumed at 1 store.")
    expect(row).to_contain_text("Taking orders")
    assert live.api(f"/stores/{live.ids['store']}/")["mobile_ordering"]["paused"] is False


def test_price_is_shown_and_typed_as_money(admin_page, live):
    from playwright.sync_api import expect

    page = admin_page
    open_from_home(page, "Menu items")
    latte_row = list_row(page, "Latte")
    expect(latte_row).to_contain_text("$4.50 USD")
    expect(latte_row.get_by_role("checkbox", name=re.compile("^86'd"))).to_be_in_viewport()  # not cut off at 1280 px
    page.get_by_role("link", name="Latte", exact=True).click()
    price = page.get_by_role("textbox", name=re.compile(r"^Price:?$"))
    expect(price).to_have_value("4.50")

    price.fill("4.505")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("USD amounts have at most 2 digits after the point, like 4.50.")).to_be_visible()
    assert menu_item(live, "latte")["price_minor"] == 450

    page.get_by_role("textbox", name=re.compile(r"^Price:?$")).fill("4.75")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(success_message(page)).to_contain_text("was changed successfully")
    expect(list_row(page, "Latte")).to_contain_text("$4.75 USD")
    assert menu_item(live, "latte")["price_minor"] == 475
    live.sql("UPDATE stores_menuitem SET price_minor = 450 WHERE id = ?", live.ids["latte"])


def test_find_an_order_by_its_pickup_code_and_read_its_history(admin_page, live, chromium):
    from playwright.sync_api import expect

    token = live.token("customer")
    order = place_order(live, "Robin", [{"item": live.ids["latte"], "quantity": 1,
                                         "modifiers": [live.ids["large"], live.ids["oat"]]}])
    place_order(live, "Ana", [{"item": live.ids["drip"], "quantity": 2}])
    bump_on_the_kitchen_screen(chromium, live, order["id"])
    code = live.api(f"/orders/{order['id']}/", token=token)["pickup"]["code"]

    page = admin_page
    open_from_home(page, "Orders")
    page.get_by_role("link", name="Today", exact=True).click()
    page.get_by_role("textbox", name="Search", exact=True).fill(code)
    page.get_by_role("button", name="Search").click()
    found = page.get_by_role("link", name=f"{order['id']} · {code}")
    expect(found).to_be_visible()
    expect(page.get_by_text("1 order", exact=True)).to_be_visible()
    save_screenshot(page, "admin-orders")

    found.click()
    expect(page.get_by_role("heading", name=re.compile(rf"Order {order['id']}"))).to_be_visible()
    history = page.get_by_role("group", name="History")
    expect(history).to_contain_text("Placed (Awaiting payment) by customer, promised for")
    expect(history).to_contain_text("Ready for pickup (from")
    expect(history).to_contain_text("by bea")
    expect(page.get_by_role("group", name=re.compile("Order lines", re.I))).to_contain_text(
        "Size: Large (+$0.90 USD), Milk: Oat (+$0.70 USD)")
    scroll_to_top(page.get_by_role("group", name="Timeline"))  # the times, the history and the lines
    save_screenshot(page, "admin-order-timeline")


def test_another_store_of_the_chain_is_nowhere_to_be_seen(admin_page, live):
    from playwright.sync_api import expect

    elsewhere = place_order(live, "Pat's customer", [{"item": live.ids["other_latte"], "quantity": 1}],
                            store="other_store")
    page = admin_page
    for section in ("Stores", "Stations", "Menu items", "Modifier groups", "Store memberships"):
        open_from_home(page, section)
        expect(page.get_by_text("Pearl Street")).to_have_count(0)
    open_from_home(page, "Orders")
    expect(page.get_by_role("link", name=re.compile(rf"^{elsewhere['id']} · "))).to_have_count(0)
    expect(page.get_by_text("Pat's customer")).to_have_count(0)

    # Typing another store's address in the bar does not find it either.
    page.goto(f"{live.base}/admin/stores/store/{live.ids['other_store']}/change/")
    expect(page.get_by_role("heading", name="Your stores")).to_be_visible()
    expect(page.get_by_text("doesn’t exist")).to_be_visible()

"""Django admin for managers: every page renders, managers see only their own stores, and the
actions (pause, 86, cancel) and editable columns change what they should and nothing more."""

import datetime as dt
import re
from html.parser import HTMLParser
from io import StringIO
from unittest import mock

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.http import HttpRequest  # the sign-in lock-out (django-axes) needs a request
from django.urls import reverse

from fulfilment.models import Channel, Order, OrderEvent, OrderLine, OrderStatus, PickupKind, StoreEvent
from stores import demo_data as demo
from stores.admin import MenuItemAdminForm, StoreAdminForm
from stores.hours import staffing_week
from stores.models import AvailabilityChange, MenuItem, ModifierOption, StaffingPeriod, Store, StoreMembership
from stores.money import format_amount, format_money, parse_money
from stores.services import stock_reserve
from tests import factories

pytestmark = pytest.mark.django_db


def make_order(item: MenuItem, *, status: str = OrderStatus.CONFIRMED, customer=None, quantity: int = 1) -> Order:
    """An order written straight to the database, as if placed and paid through the API."""
    order = Order.objects.create(
        store=item.store, customer=customer, customer_name="Robin", channel=Channel.MOBILE, status=status,
        pickup_kind=PickupKind.ASAP, subtotal_minor=item.price_minor * quantity,
        total_minor=item.price_minor * quantity, currency=item.currency)
    OrderLine.objects.create(order=order, item=item, item_name=item.name, quantity=quantity,
                             unit_price_minor=item.price_minor, line_total_minor=item.price_minor * quantity,
                             prep_seconds=item.prep_seconds, station=item.station)
    OrderEvent.objects.create(order=order, kind=OrderEvent.CREATED, to_status=status)
    return order


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def listed(response) -> list:
    return list(response.context["cl"].result_list)


@pytest.fixture
def menu2(store2):
    return factories.coffee_menu(store2)


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    (450, "USD", "$4.50 USD"),
    (0, "USD", "$0.00 USD"),
    (123456, "USD", "$1,234.56 USD"),
    (-50, "EUR", "-€0.50 EUR"),
    (1200, "JPY", "¥1,200 JPY"),
    (1500, "SEK", "15.00 SEK"),
])
def test_format_money(amount, currency, shown):
    assert format_money(amount, currency) == shown


@pytest.mark.parametrize("username", ["admin", "manager1"])
def test_every_admin_page_renders(client, username):
    """Superusers get every registered model; a manager gets the store and order pages, not accounts."""
    call_command("seed_demo", stdout=StringIO())
    latte = MenuItem.objects.get(store__slug="pearl-district", name="Caffè Latte")
    make_order(latte)
    assert client.login(request=HttpRequest(), username=username, password=demo.PASSWORD)

    assert client.get(reverse("admin:index")).status_code == 200
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        response = client.get(changelist(model))
        if username == "manager1" and opts.app_label not in ("stores", "fulfilment"):
            assert response.status_code == 403, opts.label
            continue
        assert response.status_code == 200, opts.label
        obj = model_admin.get_queryset(response.wsgi_request).first()
        if obj is not None:
            page = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
            assert page.status_code == 200, f"{opts.label} {obj.pk}"


def test_menu_item_list_shows_price_as_money(client, admin_user, menu):
    client.force_login(admin_user)
    response = client.get(changelist(MenuItem))
    assert "$4.50 USD" in response.content.decode()  # the latte


def test_order_search_by_name_or_number(client, admin_user, menu):
    order = make_order(menu["latte"])
    client.force_login(admin_user)
    assert listed(client.get(changelist(Order), {"q": "Robin"})) == [order]
    assert listed(client.get(changelist(Order), {"q": str(order.pk)})) == [order]
    assert listed(client.get(changelist(Order), {"q": "nobody"})) == []


def test_manager_sees_only_their_own_stores(manager2_client, store, store2, menu, menu2):
    order1, order2 = make_order(menu["latte"]), make_order(menu2["latte"])

    assert listed(manager2_client.get(changelist(Order))) == [order2]
    assert listed(manager2_client.get(changelist(Store))) == [store2]
    assert {item.store_id for item in listed(manager2_client.get(changelist(MenuItem)))} == {store2.pk}

    # Another store's order is not found at all (admin sends the user back to its index).
    page = manager2_client.get(reverse("admin:fulfilment_order_change", args=[order1.pk]))
    assert page.status_code == 302
    assert manager2_client.get(reverse("admin:fulfilment_order_change", args=[order2.pk])).status_code == 200

    # New menu items can only go to the manager's own store.
    add_form = manager2_client.get(reverse("admin:stores_menuitem_add")).context["adminform"].form
    assert list(add_form.fields["store"].queryset) == [store2]


def test_staff_without_a_manager_membership_gets_no_store_pages(client, barista_store1):
    barista_store1.is_staff = True
    barista_store1.save(update_fields=["is_staff"])
    client.force_login(barista_store1)
    assert client.get(changelist(Order)).status_code == 403
    assert client.get(changelist(MenuItem)).status_code == 403


def test_orders_cannot_be_added_or_edited_in_admin(client, admin_user, menu):
    order = make_order(menu["latte"])
    client.force_login(admin_user)
    assert client.get(reverse("admin:fulfilment_order_add")).status_code == 403
    response = client.post(reverse("admin:fulfilment_order_change", args=[order.pk]), {"status": "picked_up"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


def test_cancel_action_cancels_open_orders_and_reports_the_rest(manager2_client, manager_store2, menu, menu2):
    open_order = make_order(menu2["latte"], status=OrderStatus.CONFIRMED)
    collected = make_order(menu2["drip"], status=OrderStatus.PICKED_UP)
    other_store = make_order(menu["latte"], status=OrderStatus.CONFIRMED)

    response = manager2_client.post(changelist(Order), {
        "action": "cancel_orders", "_selected_action": [open_order.pk, collected.pk, other_store.pk]}, follow=True)

    assert response.status_code == 200
    for order in (open_order, collected, other_store):
        order.refresh_from_db()
    assert open_order.status == OrderStatus.CANCELLED
    assert open_order.cancel_reason == "Cancelled by manager in admin"
    assert open_order.events.filter(to_status=OrderStatus.CANCELLED, actor=manager_store2).exists()
    assert collected.status == OrderStatus.PICKED_UP
    assert other_store.status == OrderStatus.CONFIRMED  # not the manager's store: untouched
    shown = messages_of(response)
    assert f"Cancelled 1 order: {open_order.pk}." in shown
    assert any(m.startswith(f"Order {collected.pk} was not cancelled:") for m in shown)


def test_pause_and_resume_actions(manager2_client, store2):
    manager2_client.post(changelist(Store), {"action": "pause_mobile_ordering", "_selected_action": [store2.pk]})
    store2.refresh_from_db()
    assert store2.is_mobile_paused() and store2.pause_reason

    manager2_client.post(changelist(Store), {"action": "resume_mobile_ordering", "_selected_action": [store2.pk]})
    store2.refresh_from_db()
    assert not store2.is_mobile_paused() and store2.pause_reason == ""


def test_86_actions(manager2_client, menu2):
    latte, drip = menu2["latte"], menu2["drip"]
    response = manager2_client.post(changelist(MenuItem), {
        "action": "mark_86", "_selected_action": [latte.pk, drip.pk]}, follow=True)
    latte.refresh_from_db()
    drip.refresh_from_db()
    assert latte.eighty_sixed and drip.eighty_sixed
    assert any(m.startswith("86'd 2 items") for m in messages_of(response))

    manager2_client.post(changelist(MenuItem), {"action": "unmark_86", "_selected_action": [latte.pk]})
    latte.refresh_from_db()
    assert not latte.eighty_sixed


class FormReader(HTMLParser):
    """What a browser would submit from one <form>: its inputs, checked boxes and selected options."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.select = form_id, False, None
        self.data: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        elif not self.inside or "name" not in attrs and tag != "option":
            return
        elif tag == "input" and attrs.get("type") in ("checkbox", "radio"):
            if "checked" in attrs:
                self.data.setdefault(attrs["name"], []).append(attrs.get("value", "on"))
        elif tag == "input" and attrs.get("type") not in ("submit", "button", "file"):
            self.data.setdefault(attrs["name"], []).append(attrs.get("value", ""))
        elif tag == "select":
            self.select = attrs["name"]
        elif tag == "option" and self.select and "selected" in attrs:
            self.data.setdefault(self.select, []).append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None


def submitted(response, form_id: str) -> dict[str, list[str]]:
    reader = FormReader(form_id)
    reader.feed(response.content.decode())
    return reader.data


def test_editable_list_does_not_undo_sales_made_after_the_page_loaded(manager2_client, menu2):
    croissant, latte = menu2["croissant"], menu2["latte"]  # 5 croissants in stock
    page = manager2_client.get(changelist(MenuItem))
    data = submitted(page, "changelist-form")
    row = next(name.removesuffix("-id") for name, values in data.items()
               if name.endswith("-id") and values == [str(croissant.pk)])
    data[f"{row}-eighty_sixed"] = ["on"]  # the manager 86es the croissant on the open page...
    data["_save"] = ["Save"]

    stock_reserve(item=croissant, quantity=2)  # ...while two are sold at the counter,
    MenuItem.objects.filter(pk=latte.pk).update(eighty_sixed=True)  # and a barista 86es the latte on the KDS

    response = manager2_client.post(changelist(MenuItem), data)

    assert response.status_code == 302
    croissant.refresh_from_db()
    latte.refresh_from_db()
    assert croissant.eighty_sixed
    assert croissant.stock_count == 3  # the sales stand
    assert latte.eighty_sixed  # the barista's 86 stands


def test_editable_list_sets_stock_the_manager_typed(manager2_client, menu2):
    croissant = menu2["croissant"]
    data = submitted(manager2_client.get(changelist(MenuItem)), "changelist-form")
    row = next(name.removesuffix("-id") for name, values in data.items()
               if name.endswith("-id") and values == [str(croissant.pk)])
    data[f"{row}-stock_count"] = ["20"]  # a fresh tray from the oven
    data["_save"] = ["Save"]

    assert manager2_client.post(changelist(MenuItem), data).status_code == 302
    croissant.refresh_from_db()
    assert croissant.stock_count == 20


def test_store_form_refuses_a_pause_that_has_already_ended(store2, now):
    a_minute_ago_there = (now - dt.timedelta(minutes=1)).astimezone(store2.tz).replace(tzinfo=None)
    data = {**model_to_dict(store2), "mobile_paused": True, "pause_reason": "Espresso machine down",
            "paused_until": a_minute_ago_there}  # typed in the store's local time
    form = StoreAdminForm(data=data, instance=store2)
    assert not form.is_valid()
    assert "paused_until" in form.errors


# --- Money typed as "4.50" --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "currency", "minor"), [
    ("4.50", "USD", 450), ("4", "USD", 400), ("0.5", "USD", 50), (" 12.00 ", "EUR", 1200),
    ("-0.50", "USD", -50), ("1200", "JPY", 1200), ("1.234", "KWD", 1234),
])
def test_parse_money(text, currency, minor):
    assert parse_money(text, currency) == minor
    assert parse_money(format_amount(minor, currency), currency) == minor


@pytest.mark.parametrize(("text", "currency", "message"), [
    ("4.505", "USD", "USD amounts have at most 2 digits after the point, like 4.50."),
    ("abc", "USD", "Enter an amount like 4.50."),
    ("4,50", "EUR", "Enter an amount like 4.50."),
    ("", "USD", "Enter an amount like 4.50."),
    ("12.5", "JPY", "JPY has no smaller units: enter a whole amount like 450."),
])
def test_parse_money_refuses_with_a_message(text, currency, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_money(text, currency)


def test_menu_item_price_is_typed_and_shown_in_currency_units(manager2_client, menu2):
    latte = menu2["latte"]
    url = reverse("admin:stores_menuitem_change", args=[latte.pk])
    page = manager2_client.get(url)
    data = submitted(page, "menuitem_form")
    assert data["price_minor"] == [format_amount(latte.price_minor, latte.currency)]  # "4.50", not 450

    data["price_minor"] = ["5.25"]
    assert manager2_client.post(url, data).status_code == 302
    latte.refresh_from_db()
    assert latte.price_minor == 525


@pytest.mark.parametrize(("typed", "error"), [
    ("4.505", "USD amounts have at most 2 digits after the point"),
    ("abc", "Enter an amount like 4.50."),
])
def test_menu_item_price_refuses_bad_amounts_with_a_clear_error(manager2_client, menu2, typed, error):
    latte = menu2["latte"]
    url = reverse("admin:stores_menuitem_change", args=[latte.pk])
    data = submitted(manager2_client.get(url), "menuitem_form")
    data["price_minor"] = [typed]
    response = manager2_client.post(url, data)
    assert response.status_code == 200
    assert error in " ".join(response.context["adminform"].form.errors["price_minor"])
    latte.refresh_from_db()
    assert latte.price_minor == menu2["latte"].price_minor


def test_menu_item_form_reads_a_price_in_the_currency_digits(store2):
    item = MenuItem(store=store2, currency="JPY")
    form = MenuItemAdminForm(instance=item, data={"price_minor": "450", "currency": "JPY"})
    assert form.fields["price_minor"].clean("450") == 450
    assert form.fields["price_minor"].prepare_value(1200) == "1200"


def test_modifier_option_price_change_typed_in_currency_units(manager2_client, menu2):
    group = ModifierOption.objects.filter(group__store=menu2["latte"].store).first().group
    url = reverse("admin:stores_modifiergroup_change", args=[group.pk])
    data = submitted(manager2_client.get(url), "modifiergroup_form")
    first = group.options.order_by("position", "pk").first()
    row = next(name.removesuffix("-id") for name, values in data.items()
               if name.endswith("-id") and values == [str(first.pk)])
    assert data[f"{row}-price_delta_minor"] == [format_amount(first.price_delta_minor, "USD")]

    data[f"{row}-price_delta_minor"] = ["0.805"]
    response = manager2_client.post(url, data)
    assert response.status_code == 200  # refused, with the error next to the option
    assert "at most 2 digits" in response.content.decode()

    data[f"{row}-price_delta_minor"] = ["0.80"]
    assert manager2_client.post(url, data).status_code == 302
    first.refresh_from_db()
    assert first.price_delta_minor == 80


# --- Modifier options 86'd from admin ----------------------------------------------------------------

def test_option_86_actions_reach_the_menu_and_the_quote_at_once(manager2_client, api, store2, menu2):
    oat, almond = menu2["oat"], menu2["almond"]
    response = manager2_client.post(changelist(ModifierOption), {
        "action": "mark_unavailable", "_selected_action": [oat.pk, almond.pk]}, follow=True)
    assert any(m.startswith("86'd 2 options") for m in messages_of(response))

    menu_json = api.get(reverse("store-menu", args=[store2.pk])).content.decode()
    assert '"available":false' in menu_json.replace(" ", "")
    quote = api.post(f"/api/stores/{store2.pk}/quote/", {"items": [
        {"item": menu2["latte"].pk, "quantity": 1, "modifiers": [oat.pk]}]}, format="json")
    assert 400 <= quote.status_code < 500
    assert quote.json()["error"]["code"] == "modifier_unavailable"

    manager2_client.post(changelist(ModifierOption), {"action": "mark_available", "_selected_action": [oat.pk]})
    quote = api.post(f"/api/stores/{store2.pk}/quote/", {"items": [
        {"item": menu2["latte"].pk, "quantity": 1, "modifiers": [oat.pk]}]}, format="json")
    assert quote.status_code == 200, quote.json()
    almond.refresh_from_db()
    assert not almond.is_available


def test_option_list_and_actions_are_scoped_to_the_managers_stores(manager2_client, menu, menu2):
    assert {o.group.store_id for o in listed(manager2_client.get(changelist(ModifierOption)))} == {
        menu2["oat"].group.store_id}
    manager2_client.post(changelist(ModifierOption), {
        "action": "mark_unavailable", "_selected_action": [menu["oat"].pk]})  # store 1's oat milk
    menu["oat"].refresh_from_db()
    assert menu["oat"].is_available
    page = manager2_client.get(reverse("admin:stores_modifieroption_change", args=[menu["oat"].pk]))
    assert page.status_code == 302  # not found for this manager


def test_option_available_toggle_on_the_group_page(manager2_client, menu2):
    size, large = menu2["size"], menu2["large"]
    url = reverse("admin:stores_modifiergroup_change", args=[size.pk])
    data = submitted(manager2_client.get(url), "modifiergroup_form")
    row = next(name.removesuffix("-id") for name, values in data.items()
               if name.endswith("-id") and values == [str(large.pk)])
    data.pop(f"{row}-is_available")  # the box unticked
    assert manager2_client.post(url, data).status_code == 302
    large.refresh_from_db()
    assert not large.is_available
    # Through the service: logged for the dashboard, with who did it (the other rows, unchanged, are not).
    assert list(AvailabilityChange.objects.values_list("option_id", "out", "actor__username")) == [
        (large.pk, True, "manager2")]


def test_option_available_column_on_the_option_list(manager2_client, menu2, django_capture_on_commit_callbacks):
    oat = menu2["oat"]
    data = submitted(manager2_client.get(changelist(ModifierOption)), "changelist-form")
    row = next(name.removesuffix("-id") for name, values in data.items()
               if name.endswith("-id") and values == [str(oat.pk)])
    data.pop(f"{row}-is_available")  # the box unticked
    data["_save"] = ["Save"]
    with django_capture_on_commit_callbacks(execute=True):
        assert manager2_client.post(changelist(ModifierOption), data).status_code == 302
    oat.refresh_from_db()
    assert not oat.is_available
    assert list(AvailabilityChange.objects.values_list("option_id", "out", "actor__username")) == [
        (oat.pk, True, "manager2")]
    # ... and the kitchen screens and the menu socket hear of it, like an 86 made on a screen.
    event = StoreEvent.objects.filter(store=oat.group.store, kind="menu.option").get()
    assert event.payload["option"] == {"id": oat.pk, "name": "Oat", "group": oat.group_id, "group_name": "Milk",
                                       "available": False}


# --- Memberships: managers add and remove baristas at their own stores --------------------------------

def add_barista(client, **fields):
    data = {"username": "sam.k", "password": "flat-white-2026", "store": "", "role": "barista", **fields}
    return client.post(reverse("admin:stores_storemembership_add"), data)


def test_manager_adds_a_barista_with_a_new_account(manager2_client, store2):
    response = add_barista(manager2_client, store=store2.pk)
    assert response.status_code == 302, response.context["adminform"].form.errors
    membership = StoreMembership.objects.get(user__username="sam.k")
    assert (membership.store, membership.role) == (store2, StoreMembership.BARISTA)
    assert membership.user.check_password("flat-white-2026") and not membership.user.is_staff


def test_manager_is_offered_only_barista_and_their_own_stores(manager2_client, store, store2):
    form = manager2_client.get(reverse("admin:stores_storemembership_add")).context["adminform"].form
    assert [value for value, _ in form.fields["role"].choices if value] == ["barista"]
    assert list(form.fields["store"].queryset) == [store2]


def test_manager_cannot_make_a_manager_or_add_to_another_store(manager2_client, store, store2):
    assert add_barista(manager2_client, store=store2.pk, role="manager").status_code == 200
    assert add_barista(manager2_client, store=store.pk).status_code == 200
    assert not StoreMembership.objects.filter(user__username="sam.k").exists()


def test_manager_cannot_take_over_an_existing_account(manager2_client, store2, barista_store1):
    response = add_barista(manager2_client, store=store2.pk, username=barista_store1.username, password="")
    assert "That username is taken" in str(response.context["adminform"].form.errors)
    assert not StoreMembership.objects.filter(user=barista_store1, store=store2).exists()


def test_new_account_needs_a_good_password(manager2_client, store2):
    response = add_barista(manager2_client, store=store2.pk, password="")
    assert "needs a password" in str(response.context["adminform"].form.errors)


def test_manager_removes_their_baristas_but_not_managers_or_other_stores_staff(
        manager2_client, manager_store2, store2, barista_store1):
    own_barista = factories.staff("barista2", store2, "barista")
    own_membership = StoreMembership.objects.get(user=own_barista)
    manager_membership = StoreMembership.objects.get(user=manager_store2)
    other_store = StoreMembership.objects.get(user=barista_store1)

    assert set(listed(manager2_client.get(changelist(StoreMembership)))) == {own_membership, manager_membership}
    delete = "admin:stores_storemembership_delete"
    assert manager2_client.post(reverse(delete, args=[manager_membership.pk]), {"post": "yes"}).status_code == 403
    assert manager2_client.post(reverse(delete, args=[other_store.pk]), {"post": "yes"}).status_code == 302
    change = reverse("admin:stores_storemembership_change", args=[own_membership.pk])
    assert manager2_client.post(change, {"user": own_barista.pk, "store": store2.pk,
                                         "role": "manager"}).status_code == 403

    manager2_client.post(changelist(StoreMembership), {
        "action": "delete_selected", "post": "yes",
        "_selected_action": [own_membership.pk, manager_membership.pk, other_store.pk]})
    assert StoreMembership.objects.filter(pk__in=[manager_membership.pk, other_store.pk]).count() == 2

    manager2_client.post(reverse(delete, args=[own_membership.pk]), {"post": "yes"})
    assert not StoreMembership.objects.filter(pk=own_membership.pk).exists()


# --- Staffing on the station page -------------------------------------------------------------------

def test_staffing_week_carries_each_period_on_until_the_next(menu2):
    espresso = menu2["espresso"]  # 2 lanes by default
    periods = [StaffingPeriod(station=espresso, weekday=0, starts=dt.time(6), lanes=3),
               StaffingPeriod(station=espresso, weekday=0, starts=dt.time(14), lanes=1),
               StaffingPeriod(station=espresso, weekday=5, starts=dt.time(0), lanes=2)]
    week = staffing_week(espresso, periods)
    assert week[0] == [(dt.time(0), 2), (dt.time(6), 3), (dt.time(14), 1)]  # Sunday's 2 carries into Monday
    assert week[1] == [(dt.time(0), 1)]  # Monday's afternoon shift runs on
    assert week[5] == [(dt.time(0), 2)]
    assert staffing_week(espresso, []) == [[(dt.time(0), 2)]] * 7


def test_station_page_saves_staffing_shows_the_week_and_replans_the_queue(
        manager2_client, menu2, store2, django_capture_on_commit_callbacks):
    espresso = menu2["espresso"]
    url = reverse("admin:stores_station_change", args=[espresso.pk])
    data = submitted(manager2_client.get(url), "station_form")
    data.update({"staffing-TOTAL_FORMS": ["2"], "staffing-0-weekday": ["0"], "staffing-0-starts": ["07:00"],
                 "staffing-0-lanes": ["3"], "staffing-0-station": [str(espresso.pk)],
                 "staffing-1-weekday": ["0"], "staffing-1-starts": ["15:00"],
                 "staffing-1-lanes": ["1"], "staffing-1-station": [str(espresso.pk)]})
    version = Store.objects.get(pk=store2.pk).config_version

    with mock.patch("fulfilment.services.scheduling.store_replan") as replan:
        with django_capture_on_commit_callbacks(execute=True):
            response = manager2_client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert sorted(espresso.staffing.values_list("weekday", "starts", "lanes")) == [(0, dt.time(7), 3),
                                                                                    (0, dt.time(15), 1)]
    assert Store.objects.get(pk=store2.pk).config_version != version  # every process reads staffing again
    assert replan.called and replan.call_args.kwargs["store"].pk == store2.pk  # the queue is re-planned at once

    page = manager2_client.get(url).content.decode()
    assert "Lanes over the week" in page
    assert "<th scope='row'>Monday</th><td>00:00 1 lane · 07:00 3 lanes · 15:00 1 lane</td>" in page
    assert "<th scope='row'>Tuesday</th><td>00:00 1 lane</td>" in page  # Monday's last shift runs on


# --- Pause with a reason and an end time, in the store's local time ----------------------------------

def test_pause_with_reason_asks_then_pauses_until_the_local_time(manager2_client, store2, store):
    asked = manager2_client.post(changelist(Store), {"action": "pause_with_reason",
                                                     "_selected_action": [store2.pk, store.pk]})
    assert asked.status_code == 200 and "Pause mobile ordering at: <strong>Store Two</strong>" in asked.content.decode()

    tomorrow_3pm = dt.datetime.combine(factories.local_now(store2).date() + dt.timedelta(days=1), dt.time(15))
    response = manager2_client.post(changelist(Store), {
        "action": "pause_with_reason", "apply": "1", "_selected_action": [store2.pk, store.pk],
        "reason": "Espresso machine down", "until": tomorrow_3pm.strftime("%Y-%m-%dT%H:%M")}, follow=True)

    store2.refresh_from_db()
    store.refresh_from_db()
    assert store2.is_mobile_paused() and store2.pause_reason == "Espresso machine down"
    assert store2.paused_until == tomorrow_3pm.replace(tzinfo=store2.tz)  # 15:00 where the store is
    assert not store.is_mobile_paused()  # another manager's store: not in this manager's queryset
    assert any("until" in m and "15:00 local time" in m for m in messages_of(response))
    listing = manager2_client.get(changelist(Store)).content.decode()
    assert f"Paused until {tomorrow_3pm:%a} 15:00" in listing


def test_pause_with_reason_refuses_an_end_time_already_past(manager2_client, store2):
    an_hour_ago = factories.local_now(store2).replace(tzinfo=None) - dt.timedelta(hours=1)
    response = manager2_client.post(changelist(Store), {
        "action": "pause_with_reason", "apply": "1", "_selected_action": [store2.pk],
        "reason": "Espresso machine down", "until": an_hour_ago.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 200
    assert "already passed at Store Two" in response.content.decode()
    store2.refresh_from_db()
    assert not store2.mobile_paused


def test_store_page_shows_and_takes_the_pause_end_in_local_time(manager2_client, store2):
    url = reverse("admin:stores_store_change", args=[store2.pk])
    data = submitted(manager2_client.get(url), "store_form")
    tomorrow = factories.local_now(store2).date() + dt.timedelta(days=1)
    data.update({"mobile_paused": ["on"], "pause_reason": ["Training"],
                 "paused_until_0": [tomorrow.isoformat()], "paused_until_1": ["09:30:00"]})
    response = manager2_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    store2.refresh_from_db()
    assert store2.paused_until == dt.datetime.combine(tomorrow, dt.time(9, 30), tzinfo=store2.tz)

    shown = submitted(manager2_client.get(url), "store_form")
    assert shown["paused_until_1"] == ["09:30:00"]  # not the UTC hour


# --- For a manager who has never seen Django (found walking it in a browser) ------------------------------

def headers_of(response) -> list[str]:
    return [str(header["text"]).lower() for header in response.context["result_headers"]]


def test_lists_drop_the_store_column_for_a_manager_of_one_store(manager2_client, client, admin_user, menu2):
    # At 1280 px the store's name on every row pushed stock and 86 off the screen.
    for model in (MenuItem, ModifierOption, StoreMembership):
        assert "store" not in headers_of(manager2_client.get(changelist(model))), model
    client.force_login(admin_user)
    assert "store" in headers_of(client.get(changelist(MenuItem)))


def accessible_name_of_input(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert tag, f"no input {name}"
    label = re.search(r'aria-label="([^"]*)"', tag.group(0))
    return label.group(1) if label else None


def test_boxes_in_table_rows_are_named_after_their_column(manager2_client, menu2):
    """A checkbox in a list row or an inline row has no label of its own (only the column header has it), so
    a screen reader says just "checkbox"; each gets its column's label."""
    options = manager2_client.get(changelist(ModifierOption)).content.decode()
    assert accessible_name_of_input(options, "form-0-is_available") == "Available"
    items = manager2_client.get(changelist(MenuItem)).content.decode()
    assert accessible_name_of_input(items, "form-0-eighty_sixed") == "86&#x27;d (out for now)"
    station = manager2_client.get(reverse("admin:stores_station_change", args=[menu2["espresso"].pk])).content.decode()
    assert accessible_name_of_input(station, "staffing-__prefix__-lanes") == "Lanes"
    assert accessible_name_of_input(station, "staffing-__prefix__-starts") == "From (local time)"
    StaffingPeriod.objects.create(station=menu2["espresso"], weekday=0, starts=dt.time(6, 30), lanes=3)
    station = manager2_client.get(reverse("admin:stores_station_change", args=[menu2["espresso"].pk])).content.decode()
    assert re.search(r"<input[^>]*value=\"06:30\"[^>]*>", station)  # a shift starts at 06:30, not 06:30:00
    assert "A lane is one pair of hands at the station" in station  # what a lane is, said once on the page


def test_list_filters_are_titled_in_plain_words(manager2_client, menu2):
    titles = [spec.title for spec in manager2_client.get(changelist(MenuItem)).context["cl"].filter_specs]
    assert "86'd" in titles and "on the menu" in titles
    titles = [spec.title for spec in manager2_client.get(changelist(ModifierOption)).context["cl"].filter_specs]
    assert "available" in titles and "group" in titles
    ModifierOption.objects.filter(pk=menu2["oat"].pk).update(is_available=False)
    only_out = manager2_client.get(changelist(ModifierOption), {"is_available__exact": "0"})
    assert listed(only_out) == [menu2["oat"]]


def test_modifier_group_list_says_which_options_are_86d(manager2_client, menu2):
    ModifierOption.objects.filter(pk=menu2["oat"].pk).update(is_available=False)
    page = manager2_client.get(reverse("admin:stores_modifiergroup_changelist")).content.decode()
    assert "Almond (+$0.70 USD), Oat (+$0.70 USD, 86&#x27;d)" in page


def test_add_barista_page_speaks_of_baristas_and_chooses_the_only_store(manager2_client, store2):
    page = manager2_client.get(reverse("admin:stores_storemembership_add"))
    assert page.context["title"] == "Add a barista"
    assert page.context["adminform"].form.initial["store"] == store2.pk
    assert manager2_client.get(changelist(StoreMembership)).context["title"].startswith("Staff at your stores")

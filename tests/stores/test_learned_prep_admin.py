"""The manager sees an item's configured prep time against the learned one, and can reset what was learned."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from stores.models import LearnedPrepTime, MenuItem
from stores.selectors import store_daypart
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def menu2(store2):
    return factories.coffee_menu(store2)


def teach(item, daypart, samples=45, mean=90.0, variance=400.0):
    return LearnedPrepTime.objects.create(item=item, station=item.station, daypart=daypart, samples=samples,
                                          mean_seconds=mean, variance_seconds2=variance)


def test_the_item_list_and_page_show_configured_against_learned(manager2_client, store2, menu2):
    latte = menu2["latte"]
    now_part = store_daypart(store2, timezone.now())
    teach(latte, now_part)
    teach(latte, (now_part + 2) % 4, samples=3, mean=70.0, variance=25.0)

    listing = manager2_client.get(reverse("admin:stores_menuitem_changelist")).content.decode()
    assert "<td class=\"field-prep_time\">60 → 87</td>" in listing  # 0.9 x 90 + 0.1 x 60
    assert "<td class=\"field-prep_time\">20</td>" in listing  # the drip coffee: nothing learned

    page = manager2_client.get(reverse("admin:stores_menuitem_change", args=[latte.pk])).content.decode()
    assert "<td>45</td><td>90 s</td><td>20 s</td><td>x1.00 (0)</td><td>87 s ± 19 s</td>" in page
    assert "<td>3</td><td>70 s</td><td>5 s</td>" in page
    drip = manager2_client.get(reverse("admin:stores_menuitem_change", args=[menu2["drip"].pk])).content.decode()
    assert "Nothing learned yet" in drip


def test_the_stations_pace_shows_and_moves_the_plan(manager2_client, store2, menu2):
    now_part = store_daypart(store2, timezone.now())
    LearnedPrepTime.objects.create(item=None, station=menu2["espresso"], daypart=now_part, samples=95,
                                   mean_seconds=1.3, variance_seconds2=0.01)
    listing = manager2_client.get(reverse("admin:stores_menuitem_changelist")).content.decode()
    assert "20 → 26" in listing  # the drip coffee: 20 s x (0.95 x 1.3 + 0.05)
    page = manager2_client.get(reverse("admin:stores_menuitem_change", args=[menu2["drip"].pk])).content.decode()
    assert "<td>0</td><td>-</td><td>-</td><td>x1.28 (95)</td><td>26 s ± 15 s</td>" in page


def test_reset_forgets_what_was_learned_of_the_chosen_items_only(manager2_client, store2, menu2, menu):
    now_part = store_daypart(store2, timezone.now())
    for item in (menu2["latte"], menu2["drip"], menu["latte"]):
        teach(item, now_part)
    teach(menu2["latte"], (now_part + 1) % 4)
    for station in (menu2["oven"], menu["espresso"]):  # store 2's oven pace stays: no chosen item is made there
        LearnedPrepTime.objects.create(item=None, station=station, daypart=now_part, samples=9, mean_seconds=1.1)
    LearnedPrepTime.objects.create(item=None, station=menu2["espresso"], daypart=now_part, samples=9,
                                   mean_seconds=1.1)

    response = manager2_client.post(reverse("admin:stores_menuitem_changelist"), {
        "action": "reset_learned_prep", "_selected_action": [menu2["latte"].pk, menu["latte"].pk]}, follow=True)

    assert response.status_code == 200
    left = set(LearnedPrepTime.objects.values_list("item_id", "station_id"))
    assert left == {(menu2["drip"].pk, menu2["espresso"].pk), (menu["latte"].pk, menu["espresso"].pk),
                    (None, menu2["oven"].pk), (None, menu["espresso"].pk)}  # store 1 is not this manager's
    assert any(str(m).startswith("Learned prep times reset for 1 item: Latte")
               for m in get_messages(response.wsgi_request))
    assert MenuItem.objects.get(pk=menu2["latte"].pk).prep_seconds == 60  # the configured time is untouched

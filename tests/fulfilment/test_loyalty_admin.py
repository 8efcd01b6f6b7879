"""Loyalty in admin (issue 28): head office sets the rules and adjusts stars with a reason; a store manager reads
the rules and their stores' ledger rows; nobody edits or deletes the ledger."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from fulfilment.models import Channel, LoyaltyEntry, LoyaltyProgram, OrderStatus, Reward
from fulfilment.services import loyalty
from tests import factories

pytestmark = pytest.mark.django_db
E = LoyaltyEntry


@pytest.fixture
def head_office(db):
    return factories.user("head-office", is_superuser=True, is_staff=True)


@pytest.fixture
def manager1(store):
    return factories.staff("manager1", store, "manager")


@pytest.fixture
def program(db):
    program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
    Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)
    return program


def inline_form(program=None, **reward) -> dict:
    """The program page's POST: the program's fields and one reward row (management form included)."""
    data = {"name": "Stars", "is_active": "on", "earn_basis": LoyaltyProgram.PER_AMOUNT, "earn_rate": "2",
            "star_expiry_days": "180", "rewards-TOTAL_FORMS": "1", "rewards-INITIAL_FORMS": "0",
            "rewards-MIN_NUM_FORMS": "0", "rewards-MAX_NUM_FORMS": "1000"}
    data.update({f"rewards-0-{name}": value for name, value in reward.items()})
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_head_office_sets_the_rules_with_money_as_written(client, head_office, menu):
    client.force_login(head_office)
    response = client.post(reverse("admin:fulfilment_loyaltyprogram_add"), inline_form(
        name="Free latte", stars_cost="150", max_value_minor="4.50", items=[menu["latte"].pk], is_active="on"))
    assert response.status_code == 302, response.content.decode()[:3000]

    program = LoyaltyProgram.objects.get()
    reward = program.rewards.get()
    assert (program.star_expiry_days, reward.stars_cost, reward.max_value_minor) == (180, 150, 450)
    assert list(reward.items.all()) == [menu["latte"]]
    page = client.get(reverse("admin:fulfilment_loyaltyprogram_change", args=[program.pk])).content.decode()
    assert 'value="4.50"' in page and "Takes off up to" in page and "Store One: Latte" in page
    listing = client.get(reverse("admin:fulfilment_loyaltyprogram_changelist")).content.decode()
    assert "Free latte: 150 stars, up to $4.50 USD" in listing and "after 180 days" in listing


def test_a_bad_amount_is_refused_with_a_message(client, head_office):
    client.force_login(head_office)
    response = client.post(reverse("admin:fulfilment_loyaltyprogram_add"),
                           inline_form(name="Free drink", stars_cost="25", max_value_minor="4.505", is_active="on"))
    assert response.status_code == 200 and not LoyaltyProgram.objects.exists()
    assert "4.505" in response.content.decode()  # the typed text comes back with the error


def test_a_manager_reads_the_rules_and_cannot_change_them(client, manager1, program):
    client.force_login(manager1)
    url = reverse("admin:fulfilment_loyaltyprogram_change", args=[program.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Free drink" in page.content.decode()
    assert 'name="earn_rate"' not in page.content.decode()  # read-only: no inputs
    assert client.post(url, inline_form(name="Mine", stars_cost="1", max_value_minor="99.00")).status_code == 403
    assert client.get(reverse("admin:fulfilment_loyaltyprogram_add")).status_code == 403
    assert client.post(reverse("admin:fulfilment_loyaltyprogram_delete", args=[program.pk]),
                       {"post": "yes"}).status_code == 403
    assert LoyaltyProgram.objects.get().earn_rate == 2 and Reward.objects.get().stars_cost == 25


def test_the_ledger_is_a_read_only_list(client, head_office, program, customer_a, store):
    order = factories.order_with_times(store, channel=Channel.COUNTER, status=OrderStatus.PICKED_UP, total=900,
                                       created=factories.local_now(store))
    entry, _ = loyalty.ledger_write(member=customer_a, kind=E.EARN, stars=18, key="earn:order:x", order=order)
    client.force_login(head_office)

    listing = client.get(reverse("admin:fulfilment_loyaltyentry_changelist"), {"q": "customer_a"}).content.decode()
    assert "customer_a" in listing and "Earned" in listing and "automatic" in listing
    assert "Delete selected" not in listing
    assert " what happened" in listing and " day" in listing and ">When<" in listing  # filters, column in words
    page = client.get(reverse("admin:fulfilment_loyaltyentry_change", args=[entry.pk])).content.decode()
    assert 'name="stars"' not in page and "earn:order:x" in page
    assert client.post(reverse("admin:fulfilment_loyaltyentry_change", args=[entry.pk]),
                       {"stars": "1000"}).status_code == 403
    assert client.post(reverse("admin:fulfilment_loyaltyentry_delete", args=[entry.pk]),
                       {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:fulfilment_loyaltyentry_add")).status_code == 403
    assert LoyaltyEntry.objects.get().stars == 18


def test_a_manager_sees_their_stores_rows_only(client, manager1, store2, customer_a, head_office, store):
    here = factories.order_with_times(store, channel=Channel.COUNTER, status=OrderStatus.PICKED_UP, total=900,
                                      created=factories.local_now(store))
    there = factories.order_with_times(store2, channel=Channel.COUNTER, status=OrderStatus.PICKED_UP, total=700,
                                       created=factories.local_now(store2))
    loyalty.ledger_write(member=customer_a, kind=E.EARN, stars=18, key="earn:here", order=here)
    elsewhere, _ = loyalty.ledger_write(member=customer_a, kind=E.EARN, stars=14, key="earn:there", order=there)
    adjusted = loyalty.loyalty_adjust(member=customer_a, stars=3, actor=head_office, reason="goodwill")
    client.force_login(manager1)

    listing = client.get(reverse("admin:fulfilment_loyaltyentry_changelist")).content.decode()
    assert "+18" not in listing  # (the list shows plain numbers)
    rows = [line for line in listing.splitlines() if 'class="field-stars"' in line]
    assert [row.split('class="field-stars">')[1].split("<")[0] for row in rows] == ["18"]
    for hidden in (elsewhere, adjusted):
        assert client.get(reverse("admin:fulfilment_loyaltyentry_change", args=[hidden.pk])).status_code == 302
    assert "Adjust a member" not in listing
    assert client.get(reverse("admin:fulfilment_loyaltyentry_adjust")).status_code == 403


def test_head_office_adjusts_a_members_stars_with_a_reason(client, head_office, customer_a):
    client.force_login(head_office)
    url = reverse("admin:fulfilment_loyaltyentry_adjust")
    assert "Adjust a member" in client.get(reverse("admin:fulfilment_loyaltyentry_changelist")).content.decode()

    no_reason = client.post(url, {"member": "customer_a", "stars": "10", "reason": "  "})
    assert no_reason.status_code == 200 and "Say why" in no_reason.content.decode()
    too_many = client.post(url, {"member": "customer_a", "stars": "-5", "reason": "typo"})
    assert "That would take the balance below zero." in too_many.content.decode()
    done = client.post(url, {"member": "customer_a", "stars": "10", "reason": "Wrong drink"}, follow=True)

    assert "customer_a now has 10 stars." in messages_of(done)
    entry = LoyaltyEntry.objects.get()
    assert (entry.kind, entry.stars, entry.actor, entry.reason) == (E.ADJUST, 10, head_office, "Wrong drink")
    page = client.get(url, {"member": customer_a.pk}).content.decode()
    assert "has <strong>10</strong> stars now" in page and 'value="customer_a"' in page
    nobody = client.post(url, {"member": "nobody", "stars": "10", "reason": "typo"})
    assert "No member has that username." in nobody.content.decode()


def test_the_adjust_action_opens_the_form_for_the_rows_member(client, head_office, customer_a, customer_b):
    one = loyalty.loyalty_adjust(member=customer_a, stars=3, actor=head_office, reason="goodwill")
    other = loyalty.loyalty_adjust(member=customer_b, stars=4, actor=head_office, reason="goodwill")
    client.force_login(head_office)
    changelist = reverse("admin:fulfilment_loyaltyentry_changelist")

    response = client.post(changelist, {"action": "adjust_member_stars", "_selected_action": [one.pk]})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:fulfilment_loyaltyentry_adjust')}?member={customer_a.pk}"
    both = client.post(changelist, {"action": "adjust_member_stars", "_selected_action": [one.pk, other.pk]},
                       follow=True)
    assert "Choose rows of one member to adjust their stars." in messages_of(both)

"""The demo loyalty program: created once, the welcome stars given once, a manager's edits kept."""

import pytest
from django.core.management import call_command

from fulfilment.models import LoyaltyEntry, LoyaltyProgram
from fulfilment.services import loyalty

pytestmark = pytest.mark.django_db


def test_seeding_twice_gives_one_program_and_the_welcome_stars_once(django_user_model):
    casey = django_user_model.objects.create_user("customer", password="x")
    call_command("seed_loyalty")
    program = LoyaltyProgram.objects.get()
    program.earn_rate = 5  # a manager's change
    program.save()

    call_command("seed_loyalty")

    program.refresh_from_db()
    assert LoyaltyProgram.objects.count() == 1 and program.earn_rate == 5
    assert sorted(program.rewards.values_list("stars_cost", flat=True)) == [0, 60, 100]
    assert loyalty.member_balance(member=casey) == 120
    assert LoyaltyEntry.objects.filter(member=casey).count() == 1

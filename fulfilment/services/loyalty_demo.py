"""The demo chain's loyalty program (`manage.py seed_loyalty`, run by `make run` after seed_demo): 2 stars a
dollar, a free pastry at 60, a free drink at 100, a birthday drink, and the demo customer starts with 120
stars so the app shows a reward to spend. Safe to run again: an existing program is left as the manager
set it, and the welcome stars are one ledger row (its key)."""

from django.contrib.auth import get_user_model
from django.db import transaction

from fulfilment.models import LoyaltyEntry, LoyaltyProgram, Reward
from fulfilment.services.loyalty import ledger_write, member_lock

WELCOME_STARS = 120
DEMO_REWARDS = (("Free pastry", 60, 450, False), ("Free drink", 100, 650, False), ("Birthday drink", 0, 650, True))


@transaction.atomic
def loyalty_seed_demo(*, customer_username: str = "customer") -> LoyaltyProgram:
    program = LoyaltyProgram.objects.order_by("-created_at", "-id").first()
    if program is None:
        program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2, star_expiry_days=180)
        for name, cost, max_value, birthday in DEMO_REWARDS:
            Reward.objects.create(program=program, name=name, stars_cost=cost, max_value_minor=max_value,
                                  is_birthday=birthday)
    customer = get_user_model().objects.filter(username=customer_username).first()
    if customer is not None:
        member_lock(member=customer)
        ledger_write(member=customer, kind=LoyaltyEntry.ADJUST, stars=WELCOME_STARS, key="demo:welcome-stars",
                     reason="Welcome stars (demo data)")
    return program

"""Rewards spent on an order (issue 28): which reward a member may use now, which line of a cart it takes off
and by how much. Placing the order (`orders.order_place`) and the quote (`quotes.quote_for_cart`) both ask
here, so checkout shows the discount placing the order gives. Spending the stars is `loyalty.loyalty_redeem`.

A reward takes one unit off: the most expensive unit among the lines it covers (its items; none chosen: any),
by at most its `max_value_minor`. A birthday reward is free once per birthday, within three days either side
of it (the store's calendar).
"""

import datetime as dt
from dataclasses import dataclass

from fulfilment.models import CustomerProfile, LoyaltyEntry, Reward
from fulfilment.services import loyalty
from fulfilment.services.cart import PricedLine
from orderahead.errors import Conflict, DomainError
from stores.models import Store

BIRTHDAY_DAYS_EITHER_SIDE = 3
E = LoyaltyEntry


@dataclass(frozen=True)
class RewardUse:
    """What `reward` takes off a cart: `amount_minor` off one unit of the line at `line_index`."""
    reward: Reward
    line_index: int
    amount_minor: int


def reward_get(*, reward_id: int) -> Reward:
    """An active reward of the active program, or a 400 saying it cannot be used."""
    program = loyalty.program_active()
    reward = Reward.objects.filter(pk=reward_id).prefetch_related("items").first()
    if reward is None or program is None or not reward.is_active or reward.program_id != program.pk:
        raise DomainError("That reward is not on offer.", code="unknown_reward", fields={"reward": "not on offer"})
    return reward


def reward_apply(*, reward: Reward, lines: list[PricedLine]) -> RewardUse:
    """The unit `reward` takes off: the dearest unit it covers; a 400 when it covers nothing in the cart."""
    covered = {item.pk for item in reward.items.all()}
    eligible = [(line.unit_price_minor, -index, index) for index, line in enumerate(lines)
                if not covered or line.item.pk in covered]
    if not eligible:
        raise DomainError(f"{reward.name} does not cover anything in this order.", code="reward_not_applicable",
                          fields={"reward": "covers nothing in the order"})
    unit_price, _, index = max(eligible)
    return RewardUse(reward=reward, line_index=index, amount_minor=min(reward.max_value_minor, unit_price))


def birthday_window(*, birthday: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The days around the member's birthday nearest `today` (last year's, this year's or next year's), if
    `today` is one of them. 29 February is the 28th in other years."""
    if birthday is None:
        return None
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            day = birthday.replace(year=year)
        except ValueError:  # 29 February in a year without one
            day = dt.date(year, 2, 28)
        start = day - dt.timedelta(days=BIRTHDAY_DAYS_EITHER_SIDE)
        end = day + dt.timedelta(days=BIRTHDAY_DAYS_EITHER_SIDE)
        if start <= today <= end:
            return start, end
    return None


def _birthday_used(*, member, since: dt.datetime) -> bool:
    """A birthday reward spent on an order since `since` and not given back (its order cancelled)."""
    return (LoyaltyEntry.objects.filter(member=member, kind=E.REDEEM, reward__is_birthday=True, created_at__gte=since)
            .exclude(order__loyalty_entries__kind=E.REDEEM_REVERSED).exists())


def reward_check_member(*, reward: Reward, member, store: Store, now: dt.datetime) -> None:
    """May `member` use `reward` now? A 400 when there is no member or it is not their birthday week, a 409
    when their birthday reward was used already. The stars are checked when they are spent
    (`loyalty.loyalty_redeem`, 409 not_enough_stars). Call it with the member's row locked (placing an
    order) so two orders cannot both use one birthday."""
    if member is None:
        raise DomainError("A reward needs a member: sign in, or have the member's code scanned at the counter.",
                          code="reward_needs_member", fields={"reward": "needs a member"})
    if not reward.is_birthday:
        return
    today = now.astimezone(store.tz).date()
    birthday = CustomerProfile.objects.filter(user=member).values_list("birthday", flat=True).first()
    window = birthday_window(birthday=birthday, today=today)
    if window is None:
        raise DomainError(f"{reward.name} can be used within {BIRTHDAY_DAYS_EITHER_SIDE} days of your birthday.",
                          code="not_birthday_week", fields={"reward": "only in the birthday week"})
    since = dt.datetime.combine(window[0], dt.time(0), tzinfo=store.tz)
    if _birthday_used(member=member, since=since):
        raise Conflict(f"{reward.name} was used already this year.", code="birthday_reward_used",
                       fields={"reward": "used this year"})


def rewards_affordable(*, member, store: Store, lines: list[PricedLine], now: dt.datetime) -> list[dict]:
    """The rewards `member` could use on this cart now: each with its stars and what it would take off. For
    the checkout to offer (the quote); placing the order checks again."""
    program = loyalty.program_active()
    if member is None or program is None:
        return []
    balance = loyalty.member_balance(member=member)
    offers = []
    for reward in Reward.objects.filter(program=program, is_active=True, stars_cost__lte=balance) \
            .prefetch_related("items"):
        try:
            reward_check_member(reward=reward, member=member, store=store, now=now)
            use = reward_apply(reward=reward, lines=lines)
        except DomainError:
            continue
        offers.append({"id": reward.pk, "name": reward.name, "stars_cost": reward.stars_cost,
                       "is_birthday": reward.is_birthday, "discount_minor": use.amount_minor,
                       "line_index": use.line_index})
    return offers

"""The loyalty ledger under load on PostgreSQL (issue 28's property test): a seeded random run of earns,
redemptions, refunds, cancellations, adjustments and replays from several threads at once, each thread on
its own connection, then every balance recomputed from the ledger.

- Earn: a counter order for a member, placed, made ready and picked up (the lifecycle's after-commit effect
  credits it); replay: loyalty_earn_for_order again.
- Window: a drive-thru order taken to be paid when collected; the member's code is scanned at the window and
  added (member_order_attach), now and then with a reward spent on it; before the payment, earning and the
  handoff are refused; then the till takes the money, and it is made ready and picked up; replay: the same
  scan sent again, the payment taken again.
- Redeem: loyalty_redeem inside the transaction that places a new counter order (refused: the order is not
  placed); replay: loyalty_redeem again on the same order.
- Refund: a Refund row written directly on a demo Payment of a picked-up order, then
  loyalty_reverse_for_refund, as payments/settle.py calls it after a refund commits (the card path through the
  Stripe double is left out: the ledger only sees the committed Refund row); replay: the reverse again.
- Cancel: order_cancel of an order a reward was spent on (the effect gives the stars back); replay: the effect.
- Adjust: loyalty_adjust, up or down, with a key; replay: the same key again.

Run with -s to see the figures (operations, threads, conflicts refused, time) quoted in the note.
"""

import functools
import random
import threading
import time
from collections import Counter, defaultdict

import pytest
from django.db import connection, transaction
from django.db.models import Count, F, Sum

from fulfilment import services
from fulfilment.models import LoyaltyEntry, LoyaltyProgram, Order, OrderEvent, Payment, PaymentStatus, Refund, Reward
from fulfilment.services import LineRequest, loyalty
from fulfilment.services import members as members_service
from fulfilment.services.lifecycle import Transition
from fulfilment.services.payments.till import payment_take_at_till
from orderahead.errors import Conflict
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

E = LoyaltyEntry
SEED = 28
THREADS = 8
OPS_PER_THREAD = 30
MEMBERS = 5  # few members, many threads: every member's changes race on their row lock
REPLAY_SHARE = 0.35
JOIN_TIMEOUT_S = 300
OPERATIONS = ["earn"] * 3 + ["window"] + ["redeem"] * 2 + ["refund"] * 2 + ["cancel", "adjust"]


class Run:
    """What the threads did, counted under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done = Counter()
        self.errors: list[str] = []

    def count(self, what: str) -> None:
        with self.lock:
            self.done[what] += 1


def worker_script(rng: random.Random, members, barista, menu, reward, run: Run, index: int):
    """One thread's work: OPS_PER_THREAD random operations on its own orders (orders of any member)."""
    picked_up: list[Order] = []
    redeemed: list[Order] = []

    def place(member) -> Order:
        order, _ = services.order_place(store_id=menu["latte"].store_id, channel="counter", placed_by=barista,
                                        customer=member,
                                        lines=[LineRequest(item_id=menu["latte"].pk, quantity=rng.randint(1, 3),
                                                           option_ids=(menu["small"].pk,))])
        return order

    def replay() -> bool:
        return rng.random() < REPLAY_SHARE

    def earn():
        order = place(rng.choice(members))
        services.order_mark_ready(order=order, actor=barista)
        services.order_pick_up(order=order, actor=barista)
        picked_up.append(order)
        run.count("earn")
        if replay():
            loyalty.loyalty_earn_for_order(order_id=order.pk)
            run.count("earn replayed")

    def window():
        member = rng.choice(members)
        order, _ = services.order_place(store_id=menu["latte"].store_id, channel="drive_thru", placed_by=barista,
                                        pay_when_collected=True,
                                        lines=[LineRequest(item_id=menu["latte"].pk, quantity=rng.randint(1, 3),
                                                           option_ids=(menu["small"].pk,))])
        code, _ = members_service.member_code_issue(member=member)
        serving = members_service.member_identify(store=order.store, staff=barista, code=code)
        attach = functools.partial(members_service.member_order_attach, store_id=order.store_id, order_id=order.pk,
                                   serving_token=serving.token, actor=barista)
        with_reward = rng.random() < 0.3
        try:  # now and then the member spends a reward at the window; too few stars refuses it and adds nothing
            order = attach(reward_id=reward.pk if with_reward else None)
            run.count("window reward" if with_reward else "window member added")
        except Conflict:
            run.count("window reward refused (not enough stars)")
            order = attach()
        services.order_mark_ready(order=order, actor=barista)
        if order.awaiting_till_payment:  # not when a reward covered all of it
            assert loyalty.loyalty_earn_for_order(order_id=order.pk) is None, f"order {order.pk} earned unpaid"
            with pytest.raises(Conflict):
                services.order_pick_up(order=order, actor=barista)
            run.count("window handoff refused (not paid)")
        payment_take_at_till(order=order, actor=barista)
        if replay():
            attach()  # the same scan sent again: no change
            payment_take_at_till(order=order, actor=barista)  # a double tap at the till: recorded once
            run.count("window replayed")
        services.order_pick_up(order=order, actor=barista)
        picked_up.append(order)
        run.count("window")

    def redeem():
        member = rng.choice(members)
        try:
            with transaction.atomic():
                order = place(member)
                loyalty.loyalty_redeem(member=member, reward=reward, order=order, actor=barista)
        except Conflict:
            run.count("redeem refused (not enough stars)")
            return
        redeemed.append(order)
        run.count("redeem")
        if replay():
            try:
                with transaction.atomic():
                    loyalty.loyalty_redeem(member=member, reward=reward, order=order, actor=barista)
                run.count("redeem replayed")
            except Conflict:
                # The balance is checked before the key: a replay after the stars were spent is refused, and
                # it writes nothing either way.
                run.count("redeem replay refused")

    def refund():
        open_orders = [order for order in picked_up if getattr(order, "_refundable", order.total_minor) > 0]
        if not open_orders:
            return earn()
        order = rng.choice(open_orders)
        payment, _ = Payment.objects.get_or_create(
            order=order, defaults={"provider": Payment.DEMO, "amount_minor": order.total_minor,
                                   "currency": order.currency, "captured_minor": order.total_minor,
                                   "status": PaymentStatus.CAPTURED})
        left = getattr(order, "_refundable", order.total_minor)
        amount = left if rng.random() < 0.5 else rng.randint(1, left)
        order._refundable = left - amount
        made = Refund.objects.create(payment=payment, amount_minor=amount, status=Refund.SUCCEEDED)
        Payment.objects.filter(pk=payment.pk).update(refunded_minor=order.total_minor - order._refundable)
        loyalty.loyalty_reverse_for_refund(refund_id=made.pk)
        run.count("refund")
        if replay():
            loyalty.loyalty_reverse_for_refund(refund_id=made.pk)
            run.count("refund replayed")

    def cancel():
        if not redeemed:
            return redeem()
        order = redeemed.pop(rng.randrange(len(redeemed)))
        services.order_cancel(order=order, actor=barista, reason="load test")
        run.count("cancel")
        if replay():
            order.refresh_from_db()
            loyalty.give_back_redeemed_on_cancel(Transition(
                order_id=order.pk, store_id=order.store_id, customer_id=order.customer_id, channel=order.channel,
                from_status="confirmed", to_status="cancelled", actor=barista, at=order.updated_at))
            run.count("cancel replayed")

    def adjust():
        member, stars = rng.choice(members), rng.choice([-30, -10, -3, 2, 5, 15])
        key = f"adjust:pg:{index}:{rng.getrandbits(48):x}"
        for attempt in range(2 if replay() else 1):
            try:
                loyalty.loyalty_adjust(member=member, stars=stars, actor=barista, reason="load test", key=key)
                run.count("adjust" if attempt == 0 else "adjust replayed")
            except Conflict:
                run.count("adjust refused (below zero)" if attempt == 0 else "adjust replay refused")

    actions = {"earn": earn, "window": window, "redeem": redeem, "refund": refund, "cancel": cancel, "adjust": adjust}
    return [actions[rng.choice(OPERATIONS)] for _ in range(OPS_PER_THREAD)]


def run_threads(scripts, run: Run) -> None:
    barrier = threading.Barrier(len(scripts))

    def worker(script):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=JOIN_TIMEOUT_S)
            for step in script:
                step()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            with run.lock:
                run.errors.append(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(script,), daemon=True) for script in scripts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (lock wait?)"


def test_a_random_concurrent_run_keeps_every_balance_equal_to_its_ledger():
    store = factories.open_store(name="Stars Store", slug="stars-store", timezone=factories.midday_timezone())
    menu = factories.coffee_menu(store)
    barista = factories.staff("stars-barista", store, "barista")
    members = [factories.user(f"member{n}") for n in range(MEMBERS)]
    program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
    reward = Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)
    run = Run()
    rng = random.Random(SEED)
    scripts = [worker_script(random.Random(rng.getrandbits(64)), members, barista, menu, reward, run, n)
               for n in range(THREADS)]

    started = time.perf_counter()
    run_threads(scripts, run)
    took = time.perf_counter() - started

    assert not run.errors, f"threads raised: {Counter(run.errors)}"
    entries = list(LoyaltyEntry.objects.values("member_id", "kind", "stars", "order_id", "refund_id", "key"))
    # Every balance recomputed from the ledger's rows equals member_balance, and none is below zero.
    recomputed = defaultdict(int)
    for entry in entries:
        recomputed[entry["member_id"]] += entry["stars"]
    balances = {member.pk: loyalty.member_balance(member=member) for member in members}
    assert {pk: recomputed.get(pk, 0) for pk in balances} == balances
    # A refund never takes back stars already spent (loyalty_reverse_for_refund caps at the balance): none below zero.
    below_zero = {pk: balance for pk, balance in balances.items() if balance < 0}
    # Each change once: every key is unique (the constraint), and so is each change's subject.
    assert not LoyaltyEntry.objects.values("key").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert Counter(e["order_id"] for e in entries if e["kind"] == E.EARN).most_common(1)[0][1] == 1
    assert max(Counter(e["refund_id"] for e in entries if e["kind"] == E.EARN_REVERSED).values(), default=1) == 1
    assert max(Counter(e["order_id"] for e in entries if e["kind"] == E.REDEEM).values(), default=1) == 1
    # Per order: what refunds took back is never more than it earned, and never makes it negative; an order
    # refunded in full gave back what it earned, or all the member had left; each earn is what the order earns.
    per_order = defaultdict(lambda: {"earned": 0, "reversed": 0})
    for entry in entries:
        if entry["kind"] in (E.EARN, E.EARN_REVERSED):
            per_order[entry["order_id"]]["earned" if entry["kind"] == E.EARN else "reversed"] += entry["stars"]
    for order_id, sums in per_order.items():
        assert 0 <= sums["earned"] + sums["reversed"] <= sums["earned"], (order_id, sums)
    fully_refunded = Payment.objects.filter(refunded_minor=F("captured_minor")).values_list("order_id", flat=True)
    for order_id in fully_refunded:
        if per_order[order_id]["earned"] + per_order[order_id]["reversed"]:
            # The member had spent some of it: a refund took all they had. Either a refund found nothing left
            # to take (it wrote no row), or the last one emptied the balance: a member's rows are written one
            # at a time under their lock, so in id order the balance right after it is zero.
            rows = LoyaltyEntry.objects.filter(order_id=order_id, kind=E.EARN_REVERSED).order_by("pk")
            if rows.count() == Refund.objects.filter(payment__order_id=order_id).count():
                last = rows.last()
                after = (LoyaltyEntry.objects.filter(member_id=last.member_id, pk__lte=last.pk)
                         .aggregate(n=Sum("stars"))["n"])
                assert after == 0, (order_id, per_order[order_id], after)
    for order in Order.objects.filter(pk__in=list(per_order)):
        assert per_order[order.pk]["earned"] == loyalty.stars_for_order(order=order, program=program)
    # Only paid orders earn: none still awaiting the till's payment, and each window order earned for its member.
    assert not Order.objects.filter(pk__in=list(per_order), awaiting_till_payment=True).exists()
    window_orders = Order.objects.filter(channel="drive_thru")
    assert window_orders.count() == run.done["window"] and not window_orders.filter(customer=None).exists()
    for order in window_orders:  # each paid window order earned, unless a reward left it too little to earn on
        assert order.pk in per_order or loyalty.stars_for_order(order=order, program=program) == 0, order.pk
    assert not (OrderEvent.objects.filter(kind=OrderEvent.PAID_AT_TILL).values("order").annotate(n=Count("pk"))
                .filter(n__gt=1).exists())  # each payment taken once, replays or not
    # A cancelled order's redemption is given back once; an order still standing keeps it.
    for order_id, stars in (LoyaltyEntry.objects.filter(kind__in=[E.REDEEM, E.REDEEM_REVERSED]).values("order_id")
                            .annotate(net=Sum("stars")).values_list("order_id", "net")):
        cancelled = Order.objects.filter(pk=order_id, status="cancelled").exists()
        assert stars == (0 if cancelled else -reward.stars_cost), (order_id, stars)

    operations = sum(n for what, n in run.done.items())
    refused = sum(n for what, n in run.done.items() if "refused" in what)
    print(f"\nloyalty ledger on PostgreSQL: seed {SEED}, {THREADS} threads, {MEMBERS} members, {operations} operations "
          f"({', '.join(f'{what} {n}' for what, n in sorted(run.done.items()))}); {refused} refused as conflicts; "
          f"{len(entries)} ledger rows; {took:.1f} s ({operations / took:.0f} operations/s); "
          f"balances {sorted(balances.values())}; below zero: {below_zero or 'none'}")
    assert not below_zero, f"balances below zero: {below_zero}"


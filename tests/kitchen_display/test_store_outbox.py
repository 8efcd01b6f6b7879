"""The outbox: every change a screen must see is a numbered row written in the same transaction as the
change, numbers per store run 1, 2, 3 ... without gaps, and they are announced only after the commit."""

import datetime as dt
import pathlib
import re

import pytest
from django.utils import timezone

from fulfilment import services
from fulfilment.models import Channel, StoreEvent
from fulfilment.services import LineRequest, kitchen_actions
from fulfilment.services.outbox import outbox_prune, outbox_since, outbox_snapshot, store_events_committed
from orderahead.errors import Conflict

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """Announcements made after commits, as kitchen_display gets them."""
    messages = []

    def listen(sender, events, **kwargs):
        messages.extend(events)

    store_events_committed.connect(listen)
    yield messages
    store_events_committed.disconnect(listen)


def seqs(store) -> list[int]:
    return list(StoreEvent.objects.filter(store=store).order_by("seq").values_list("seq", flat=True))


def test_each_store_numbers_its_events_without_gaps(store, store2, menu, counter_order, barista_store1):
    first = counter_order()
    kitchen_actions.kitchen_order_bump(store_id=store.pk, order_id=first.pk, actor=barista_store1)
    services.order_pick_up(order=first, actor=barista_store1)
    counter_order()

    numbers = seqs(store)
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 6
    assert seqs(store2) == []
    kinds = list(StoreEvent.objects.filter(store=store, order=first).order_by("seq").values_list("kind", flat=True))
    assert kinds == ["order.created", "order.changed", "order.changed"]
    ready = StoreEvent.objects.get(store=store, order=first, payload__to="ready")
    assert ready.payload["ticket"]["status"] == "ready" and ready.payload["by"] == "barista1"
    assert ready.payload["notify"] == [first.pk]


def test_a_failed_change_writes_no_event_and_announces_nothing(store, menu, barista_store1, heard,
                                                              django_capture_on_commit_callbacks):
    menu["croissant"].stock_count = 1
    menu["croissant"].save()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Conflict):
            services.order_place(store_id=store.pk, channel=Channel.COUNTER, placed_by=barista_store1,
                                 lines=[LineRequest(item_id=menu["croissant"].pk, quantity=3)])
    assert seqs(store) == [] and heard == []


def test_events_are_announced_only_after_the_commit(store, menu, barista_store1, heard,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order, _ = services.order_place(store_id=store.pk, channel=Channel.COUNTER, placed_by=barista_store1,
                                        lines=[LineRequest(item_id=menu["latte"].pk, quantity=1)])
    assert heard == []  # still inside the (test's) transaction: nothing may be pushed yet
    for callback in callbacks:
        callback()
    assert [m["seq"] for m in heard] == seqs(store)
    created = next(m for m in heard if m["kind"] == "order.created")
    assert created["ticket"]["id"] == order.pk and created["store"] == store.pk and created["order"] == order.pk


def test_a_replan_tells_screens_what_moved_and_customers_whose_time_moved(store, menu, counter_order, barista_store1):
    first = counter_order(latte=2, croissant=0)
    second = counter_order(latte=2, croissant=0)
    line = first.lines.first()
    kitchen_actions.kitchen_delay_report(store_id=store.pk, order_id=first.pk, minutes=15, actor=barista_store1)
    plan = StoreEvent.objects.filter(store=store, kind="plan").order_by("-seq").first()
    moved_lines = {row[0] for row in plan.payload["lines"]}
    assert line.pk in moved_lines
    assert {row[0] for row in plan.payload["ready"]} >= {first.pk}
    assert first.pk in plan.payload["notify"]  # its customer hears of a 15-minute move
    delayed = StoreEvent.objects.filter(store=store, kind="order.delayed").get()
    assert delayed.payload["minutes"] == 15 and delayed.seq == plan.seq + 1
    assert second.pk  # re-planned too, behind the delayed order on the same lanes


def test_catch_up_gives_whole_runs_or_asks_for_a_snapshot(store, menu, counter_order):
    for _ in range(3):
        counter_order()
    head = seqs(store)[-1]
    assert [e["seq"] for e in outbox_since(store_id=store.pk, since=head - 2, limit=10)] == [head - 1, head]
    assert outbox_since(store_id=store.pk, since=0, limit=2) is None  # too many: a snapshot is cheaper
    StoreEvent.objects.filter(store=store, seq=2).delete()
    assert outbox_since(store_id=store.pk, since=0, limit=100) is None  # a number is gone
    assert outbox_since(store_id=store.pk, since=head, limit=10) == []


def test_pruning_keeps_each_stores_newest_event(store, store2, menu, counter_order):
    for _ in range(2):
        counter_order()
    head = seqs(store)[-1]
    StoreEvent.objects.update(created_at=timezone.now() - dt.timedelta(days=3))
    deleted = outbox_prune(older_than=timezone.now() - dt.timedelta(days=2))
    assert deleted == head - 1 and seqs(store) == [head]
    counter_order()
    assert seqs(store)[0] == head and seqs(store)[1] == head + 1  # numbering goes on, never restarts


def test_snapshot_lists_paid_open_orders_with_the_number_first(store, menu, counter_order, barista_store1):
    shown = counter_order()
    gone = counter_order()
    services.order_cancel(order=gone, actor=barista_store1, reason="test")
    kitchen_actions.kitchen_item_86(store_id=store.pk, item_id=menu["drip"].pk, actor=barista_store1)
    snapshot = outbox_snapshot(store_id=store.pk)
    assert snapshot["seq"] == seqs(store)[-1]
    assert [t["id"] for t in snapshot["tickets"]] == [shown.pk]
    assert [i["name"] for i in snapshot["eighty_sixed"]] == ["Drip coffee"]


def test_fulfilment_never_imports_kitchen_display():
    root = pathlib.Path(__file__).resolve().parents[2] / "fulfilment"
    offenders = [str(path) for path in root.rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+kitchen_display", path.read_text(), re.MULTILINE)]
    assert offenders == []


def test_the_prune_command_keeps_recent_events(store, menu, counter_order):
    from io import StringIO

    from django.core.management import call_command

    counter_order()
    kept = seqs(store)
    out = StringIO()
    call_command("kds_outbox_prune", "--keep-hours", "1", stdout=out)
    assert "Deleted 0 store events" in out.getvalue() and seqs(store) == kept



def test_a_new_orders_ticket_is_the_order_as_the_database_has_it(store, menu, barista_store1):
    """The placement builds the `order.created` ticket from the rows it has just written and planned,
    without reading them back: right after each placement it must be exactly what a read gives."""
    from fulfilment.models import Order
    from fulfilment.presenters import order_ticket

    def counter(**quantities):
        lines = [LineRequest(item_id=menu[name].pk, quantity=q) for name, q in quantities.items()]
        return services.order_place(store_id=store.pk, channel=Channel.COUNTER, lines=lines,
                                    placed_by=barista_store1, customer_name="Sam")[0]

    def scheduled():
        slot = (timezone.now() + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
        return services.order_place(store_id=store.pk, channel=Channel.COUNTER, placed_by=barista_store1,
                                    requested_at=slot, lines=[LineRequest(item_id=menu["latte"].pk, quantity=1)])[0]

    for place in (lambda: counter(latte=2, croissant=1), lambda: counter(latte=1, drip=2), scheduled,
                  lambda: counter(croissant=3)):
        order = place()
        ticket = StoreEvent.objects.get(store=store, order=order, kind="order.created").payload["ticket"]
        assert ticket == order_ticket(Order.objects.get(pk=order.pk))
        assert ticket["estimated_ready_at"] and all(line["planned_finish_at"] for line in ticket["lines"])

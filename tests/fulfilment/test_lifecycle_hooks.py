"""The order's life has one home (fulfilment.services.lifecycle) that other modules hook into.

A new reaction to a move (here a loyalty stamp when an order is picked up) is registered from outside,
without editing the lifecycle: it runs once, after the commit, and never when the move is rolled back
or refused. The status sets are defined once, in fulfilment.models, and the lifecycle never imports the
payments it tells about a cancel.
"""

import ast
from pathlib import Path

import pytest
from django.db import transaction

from fulfilment import services
from fulfilment.models import Channel, Order, OrderStatus, Payment, PaymentStatus
from fulfilment.services import LineRequest, lifecycle
from orderahead.errors import Conflict

S = OrderStatus
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stamps():
    """A loyalty-stamp effect registered as a loyalty module would, at import: what it saw, per run."""
    seen = []

    @lifecycle.on_transition(to=S.PICKED_UP)
    def loyalty_stamp(change: lifecycle.Transition) -> None:
        # Reads the database as it is after the commit.
        seen.append((change.order_id, change.customer_id, change.from_status,
                     Order.objects.get(pk=change.order_id).status))

    yield seen
    lifecycle.unregister_effect(loyalty_stamp)


@pytest.fixture
def ready_order(menu, barista_store1, customer_a):
    order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.COUNTER, customer=customer_a,
                                    lines=[LineRequest(item_id=menu["croissant"].pk, quantity=1)],
                                    placed_by=barista_store1)
    return services.order_mark_ready(order=order, actor=barista_store1)


@pytest.mark.django_db
def test_a_registered_effect_runs_once_after_the_pickup_commits(ready_order, barista_store1, customer_a, stamps,
                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.order_pick_up(order=ready_order, actor=barista_store1)
        assert stamps == []  # not before the commit
    assert stamps == [(ready_order.pk, customer_a.pk, S.READY, S.PICKED_UP)]


@pytest.mark.django_db
def test_no_effect_when_the_pickup_is_rolled_back(ready_order, barista_store1, stamps,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        services.order_pick_up(order=ready_order, actor=barista_store1)
        raise RuntimeError("the surrounding work failed")
    assert stamps == []
    assert Order.objects.get(pk=ready_order.pk).status == S.READY


@pytest.mark.django_db
def test_no_effect_for_a_refused_move_or_another_state(ready_order, barista_store1, stamps,
                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order=ready_order, actor=barista_store1)
        with pytest.raises(Conflict):
            services.order_pick_up(order=ready_order, actor=barista_store1)
    assert stamps == []


@pytest.mark.django_db
def test_the_cancel_releases_the_card_hold_through_the_registered_effect(menu, customer_a,
                                                                          django_capture_on_commit_callbacks):
    """Payments registers its release with the lifecycle (the lifecycle imports no payments)."""
    assert lifecycle.effects_for(from_status=S.CONFIRMED, to_status=S.CANCELLED)
    with django_capture_on_commit_callbacks(execute=True):
        order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.MOBILE, customer=customer_a,
                                        lines=[LineRequest(item_id=menu["croissant"].pk, quantity=1)])
    assert Payment.objects.get(order=order).status == PaymentStatus.AUTHORISED
    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel_by_customer(order=order, customer=customer_a)
    assert Payment.objects.get(order=order).status == PaymentStatus.CANCELLED


def test_unknown_states_are_refused_when_registering():
    with pytest.raises(ValueError):
        lifecycle.register_effect(lambda change: None, to="collected")


# --- The tree: status sets defined once, no import cycle through function-level imports --------------------

STATUS_NAMES = set(OrderStatus.names)


def _is_status(node: ast.AST) -> bool:
    """`OrderStatus.READY`, `S.READY` (any alias ending in a status member name)."""
    return isinstance(node, ast.Attribute) and node.attr in STATUS_NAMES and isinstance(node.value, ast.Name | ast.Attribute)


def own_status_sets(source: str) -> list[str]:
    """Names assigned at module level to a tuple, list or set of two or more OrderStatus members."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if isinstance(value, ast.Call) and value.args:  # frozenset((...)), set([...])
            value = value.args[0]
        if isinstance(value, ast.Tuple | ast.List | ast.Set) and sum(map(_is_status, value.elts)) >= 2:
            found += [ast.unparse(target) for target in targets]
    return found


# The sets are defined in models.py; lifecycle.py holds the state machine (sets of next states).
HOME = {ROOT / "fulfilment" / "models.py", ROOT / "fulfilment" / "services" / "lifecycle.py"}


def test_own_status_sets_are_found():
    assert own_status_sets("S = OrderStatus\nCODES = (S.CONFIRMED, S.READY)\nX = 1\n") == ["CODES"]
    assert own_status_sets("W = frozenset({OrderStatus.READY, OrderStatus.NO_SHOW})") == ["W"]
    assert own_status_sets("ONE = (S.READY,)\nNAMES = ('a', 'b')") == []


def test_no_module_outside_models_defines_its_own_status_set():
    offenders = [f"{path.relative_to(ROOT)}: {name}"
                 for package in ("fulfilment", "kitchen_display", "stores", "orderahead")
                 for path in sorted((ROOT / package).rglob("*.py"))
                 if "migrations" not in path.parts and path not in HOME
                 for name in own_status_sets(path.read_text())]
    assert offenders == []


def _function_level_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fulfilment"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}")
    return found


def test_lifecycle_orders_and_payments_import_each_other_only_at_the_top():
    """The orders <-> payments cycle was hidden in function-level imports; there are none left, and the
    lifecycle imports nothing of payments (payments registers with it)."""
    services_dir = ROOT / "fulfilment" / "services"
    paths = [services_dir / "lifecycle.py", services_dir / "orders.py", *sorted((services_dir / "payments").glob("*.py"))]
    assert [found for path in paths for found in _function_level_imports(path)] == []
    lifecycle_imports = {node.module for node in ast.walk(ast.parse((services_dir / "lifecycle.py").read_text()))
                         if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith(("fulfilment.services.payments", "fulfilment.services.pickup"))
                   or name == "fulfilment.services.orders" for name in lifecycle_imports)

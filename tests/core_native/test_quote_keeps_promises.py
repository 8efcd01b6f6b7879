"""A quote that says it fits never breaks a promise already made."""

import numpy as np
from hypothesis import given, settings

from core_native import api
from core_native.config import DEFAULT_PLANNER

from .conftest import as_plan_args, bunched_store, random_store, seeds

Z = DEFAULT_PLANNER.safety_z  # the margin's z (its value is a tuning decision, see config.py)


def _with_new_order(kw, new, due, jit, rank=np.nan):
    """plan() arguments of `kw` with the new order booked: due, just in time or not, and (where the
    store has a held plan) at its rank in it."""
    out = as_plan_args(kw)
    k = len(new["new_item_station"])
    new_id = int(kw["item_order"].max()) + 1
    out["item_order"] = np.concatenate([kw["item_order"], np.full(k, new_id)])
    out["item_station"] = np.concatenate([kw["item_station"], new["new_item_station"]])
    out["item_prep_s"] = np.concatenate([kw["item_prep_s"], new["new_item_prep_s"]])
    out["item_prep_sd_s"] = np.concatenate([kw["item_prep_sd_s"], new["new_item_prep_sd_s"]])
    out["item_release_s"] = np.concatenate([kw["item_release_s"], np.zeros(k)])
    out["item_due_s"] = np.concatenate([kw["item_due_s"], np.full(k, due)])
    out["item_weight"] = np.concatenate([kw["item_weight"], np.ones(k)])
    out["item_just_in_time"] = np.concatenate([kw["item_just_in_time"], np.full(k, jit)])
    if kw.get("item_held_rank") is not None:
        out["item_held_rank"] = np.concatenate([kw["item_held_rank"], np.full(k, rank)])
    return out, new_id


def _check_insert(kw, base, new, due, jit, must_be_ready_by, rank=np.nan):
    """Booking the new order breaks no promise of `base` (a late order gets no later) and has it
    ready by `must_be_ready_by`."""
    after, new_id = _with_new_order(kw, new, due, jit, rank)
    plan = api.plan(**after)
    for q, order_id in enumerate(base.order_id):
        p = int(np.searchsorted(plan.order_id, order_id))
        limit = max(base.order_due_s[q], base.order_ready_s[q])
        assert plan.order_ready_s[p] <= limit + 1e-6, f"order {order_id} broken by the quoted order"
    p = int(np.searchsorted(plan.order_id, new_id))
    assert plan.order_ready_s[p] <= must_be_ready_by + 1e-6


def _check_offered_slots(kw, base, new, q, slot_s):
    """Every offered slot's promise lies inside its window, and booking it there breaks nobody."""
    for start, promise in zip(q.slot_start_s[q.slot_offered], q.slot_ready_s[q.slot_offered]):
        assert start <= promise < start + slot_s
        _check_insert(kw, base, new, promise, True, promise)


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_quoted_order_keeps_every_promise(seed):
    rng = np.random.default_rng(seed)
    kw = random_store(rng)
    k = int(rng.integers(1, 4))
    new = dict(new_item_station=rng.integers(0, 3, k), new_item_prep_s=rng.choice([35.0, 60.0, 150.0], k),
               new_item_prep_sd_s=rng.choice([0.0, 12.0], k))
    jit = bool(rng.random() < 0.5)
    q = api.quote(**kw, **new, slot_first_start_s=float(rng.uniform(0, 900)), slot_s=300.0, slot_capacity=2,
                  slot_orders=rng.integers(0, 3, 5), new_just_in_time=jit)
    base = api.plan(**as_plan_args(kw))
    if q.keeps_promises:
        _check_insert(kw, base, new, q.ready_s, jit, q.ready_s)
    _check_offered_slots(kw, base, new, q, slot_s=300.0)
    not_offered = ~q.slot_offered
    np.testing.assert_array_equal(q.slot_ready_s[not_offered], q.slot_start_s[not_offered])


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_bunched_slot_promise_keeps_every_promise(seed):
    """A slot promise moved inside a bunched window is booked as promised and breaks nobody."""
    rng = np.random.default_rng(seed)
    kw = bunched_store(rng)
    k = int(rng.integers(1, 3))
    new = dict(new_item_station=rng.integers(0, 2, k), new_item_prep_s=rng.choice([35.0, 55.0, 95.0], k),
               new_item_prep_sd_s=rng.choice([0.0, 10.0, 20.0], k))
    q = api.quote(**kw, **new, slot_first_start_s=600.0, slot_s=600.0, slot_capacity=30,
                  slot_orders=np.zeros(3, np.int64))
    plan_kw = dict(kw, station_store=np.zeros(2, np.int64))
    plan_kw.pop("n_stations")
    base = api.plan(**plan_kw)
    _check_offered_slots(plan_kw, base, new, q, slot_s=600.0)


def test_bunched_slot_is_promised_later_in_its_window():
    """Four 55 s drinks on one lane all due at 600 (just in time: ready by 570): a fifth booked
    for that slot would stack behind them, ready at 350, 250 s before its promise. Its promise
    moves later in the window instead, by about as much (240 s), where it is made just in time,
    and booking it there keeps every earlier promise."""
    kw = dict(segment_station=[0], segment_start_s=[0.0], segment_lanes=[1], item_order=[1, 2, 3, 4],
              item_station=[0] * 4, item_prep_s=[55.0] * 4, item_due_s=[600.0] * 4,
              item_just_in_time=[True] * 4, handoff_s=0.0)
    new = dict(new_item_station=[0], new_item_prep_s=[55.0], new_item_prep_sd_s=[0.0])
    q = api.quote(**kw, **new, n_stations=1, slot_first_start_s=600.0, slot_s=600.0, slot_capacity=18,
                  slot_orders=[4, 0])
    r = api.quote(**kw, **new, n_stations=1, slot_first_start_s=600.0, slot_s=600.0, slot_capacity=18,
                  slot_orders=[4, 0], use_reference=True)
    assert list(q.slot_offered) == [True, True]
    assert list(q.slot_ready_s) == [840.0, 1200.0]  # the empty next slot keeps its start
    np.testing.assert_array_equal(q.slot_ready_s, r.slot_ready_s)
    plan_kw = {k: np.asarray(v) for k, v in kw.items()}
    plan_kw["item_prep_sd_s"], plan_kw["item_release_s"], plan_kw["item_weight"] = np.zeros(4), np.zeros(4), np.ones(4)
    plan_kw["station_store"] = np.zeros(1, np.int64)
    plan_kw["handoff_s"] = 0.0
    base = api.plan(**plan_kw)
    _check_insert(plan_kw, base, new, 840.0, True, 840.0)
    booked, _ = _with_new_order(plan_kw, new, 840.0, True)
    plan = api.plan(**booked)
    np.testing.assert_array_equal(plan.order_ready_s[:4], base.order_ready_s)  # nobody moved
    assert plan.order_ready_s[4] == 810.0  # just in time for 840: ready by 840 - jit_buffer_s


def test_empty_store_quote_is_prep_handoff_and_margin():
    q = api.quote(segment_station=[0], segment_start_s=[0.0], segment_lanes=[1], item_order=[], item_station=[],
                  item_prep_s=[], item_due_s=[], handoff_s=15.0, new_item_station=[0], new_item_prep_s=[60.0],
                  new_item_prep_sd_s=[10.0], n_stations=1)
    assert q.keeps_promises
    assert abs(q.ready_s - (60.0 + 15.0 + Z * 10.0)) < 1e-9


def test_slots_respect_capacity_and_kitchen():
    # one lane holding a 1500 s order promised for 2000: a 120 s order fits in front of it now,
    # but made just in time for a slot at 600 or 1200 it would push that order past its promise
    q = api.quote(segment_station=[0], segment_start_s=[0.0], segment_lanes=[1], item_order=[1],
                  item_station=[0], item_prep_s=[1500.0], item_due_s=[2000.0], handoff_s=0.0,
                  new_item_station=[0], new_item_prep_s=[120.0], n_stations=1,
                  slot_first_start_s=0.0, slot_s=600.0, slot_capacity=2, slot_orders=[0, 0, 0, 2, 0])
    names = [api.SLOT_STATUS_NAMES[s] for s in q.slot_status]
    assert q.ready_s == 120.0 and q.keeps_promises
    assert names == ["too_soon", "kitchen_full", "kitchen_full", "full", "offered"]

"""The Numba kernels make exactly the plan the pure-Python reference specifies."""

from dataclasses import replace

import numpy as np
from hypothesis import given, settings

from core_native import api
from core_native.config import DEFAULT_PLANNER, THOROUGH_PLANNER

from .conftest import as_plan_args, bunched_store, chain, random_store, seeds

# THOROUGH_PLANNER with two kicks of its iterated search instead of its many: the same code, and the
# reference stays quick (tests/core_native/test_iterated_search.py checks that search on its own).
THOROUGH_FEW_KICKS = replace(THOROUGH_PLANNER, ils_kicks=2)
FIELDS = ("item_lane", "item_start_s", "item_finish_s", "order_ready_s", "order_margin_s", "order_position")


def assert_same_plan(kw, config=DEFAULT_PLANNER):
    kernel = api.plan(**kw, config=config)
    ref = api.plan(**kw, use_reference=True, config=config)
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(kernel, field), getattr(ref, field), err_msg=field)
    serial = api.plan(**kw, parallel=False, config=config)
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(kernel, field), getattr(serial, field), err_msg=field)
    return kernel


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_random_chains_plan_identically(seed):
    rng = np.random.default_rng(seed)
    assert_same_plan(chain(rng, int(rng.integers(1, 5))))


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_overloaded_stores_plan_identically(seed):
    """Tardy stores run the improvement pass; it must match too."""
    rng = np.random.default_rng(seed)
    kw = as_plan_args(random_store(rng, n_orders=int(rng.integers(8, 20)), max_lanes=1))
    kw["item_due_s"] = kw["item_due_s"] * 0.3
    assert_same_plan(kw)


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_thorough_search_plans_identically(seed):
    """The item search (THOROUGH_PLANNER) matches too, on overloaded chains with running items,
    scheduled orders and closed lanes (they make orders the item search keeps whole)."""
    rng = np.random.default_rng(seed)
    kw = chain(rng, int(rng.integers(1, 3)))
    kw["item_due_s"] = kw["item_due_s"] * 0.3
    assert_same_plan(kw, THOROUGH_FEW_KICKS)
    kw = as_plan_args(random_store(rng, n_orders=int(rng.integers(4, 12)), max_lanes=2))
    kw["item_due_s"] = kw["item_due_s"] * 0.3
    assert_same_plan(kw, THOROUGH_FEW_KICKS)


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_random_quotes_identical(seed):
    rng = np.random.default_rng(seed)
    kw = random_store(rng, zero_lane_station=False)
    kw["segment_lanes"] = np.maximum(kw["segment_lanes"], 1)
    new = dict(new_item_station=rng.integers(0, 3, int(rng.integers(1, 4))),
               new_item_prep_s=rng.choice([35.0, 55.0, 150.0], 3)[:1].repeat(1), new_item_prep_sd_s=[10.0])
    new["new_item_prep_s"] = np.full(new["new_item_station"].size, new["new_item_prep_s"][0])
    new["new_item_prep_sd_s"] = np.full(new["new_item_station"].size, 10.0)
    slots = dict(slot_first_start_s=float(rng.uniform(0, 600)), slot_s=300.0, slot_capacity=3,
                 slot_orders=rng.integers(0, 4, 6), new_just_in_time=bool(rng.random() < 0.5))
    a = api.quote(**kw, **new, **slots)
    b = api.quote(**kw, **new, **slots, use_reference=True)
    assert (a.ready_s, a.margin_s, a.keeps_promises) == (b.ready_s, b.margin_s, b.keeps_promises)
    np.testing.assert_array_equal(a.slot_status, b.slot_status)
    np.testing.assert_array_equal(a.slot_ready_s, b.slot_ready_s)


@settings(max_examples=30, deadline=None)
@given(seeds)
def test_bunched_slot_quotes_identical(seed):
    """Slots already holding many just-in-time orders (the case that moves a slot's promise
    later in its window): kernel and reference give the same promise per slot."""
    rng = np.random.default_rng(seed)
    kw = bunched_store(rng)
    k = int(rng.integers(1, 3))
    new = dict(new_item_station=rng.integers(0, 2, k), new_item_prep_s=rng.choice([35.0, 55.0, 95.0], k),
               new_item_prep_sd_s=rng.choice([0.0, 10.0, 20.0], k))
    slots = dict(slot_first_start_s=600.0, slot_s=600.0, slot_capacity=30, slot_orders=np.zeros(3, np.int64),
                 new_just_in_time=bool(rng.random() < 0.5))
    a = api.quote(**kw, **new, **slots)
    b = api.quote(**kw, **new, **slots, use_reference=True)
    assert (a.ready_s, a.margin_s, a.keeps_promises) == (b.ready_s, b.margin_s, b.keeps_promises)
    np.testing.assert_array_equal(a.slot_status, b.slot_status)
    np.testing.assert_array_equal(a.slot_ready_s, b.slot_ready_s)


def _one(**over):
    kw = dict(segment_station=[0], segment_start_s=[0.0], segment_lanes=[2], item_order=[1], item_station=[0],
              item_prep_s=[60.0], item_due_s=[300.0], station_store=[0])
    kw.update(over)
    return {k: (np.asarray(v) if isinstance(v, list) else v) for k, v in kw.items()}


def test_edge_no_lanes():
    plan = assert_same_plan(_one(segment_lanes=[0]))
    assert plan.item_lane[0] == -1 and np.isinf(plan.item_finish_s[0])


def test_edge_station_without_segments():
    plan = assert_same_plan(_one(segment_station=[0], station_store=[0, 0], item_station=[1]))
    assert plan.item_lane[0] == -1


def test_edge_one_item():
    plan = assert_same_plan(_one())
    assert plan.item_start_s[0] == 0.0 and plan.item_finish_s[0] == 60.0


def test_edge_equal_due_times():
    kw = _one(item_order=[5, 3, 4, 9], item_station=[0, 0, 0, 0], item_prep_s=[60.0] * 4, item_due_s=[300.0] * 4,
              segment_lanes=[1])
    plan = assert_same_plan(kw)
    # equal due times: the smaller order id (the earlier order) goes first
    assert list(np.argsort(plan.item_start_s)) == [1, 2, 0, 3]


def test_edge_staffing_change_mid_plan():
    kw = _one(segment_station=[0, 0, 0], segment_start_s=[0.0, 100.0, 400.0], segment_lanes=[1, 3, 0],
              item_order=list(range(8)), item_station=[0] * 8, item_prep_s=[60.0] * 8,
              item_due_s=[200.0] * 8)
    plan = assert_same_plan(kw)
    # two extra lanes open at 100, and nothing may run past 400
    assert np.all(plan.item_finish_s[plan.item_lane >= 0] <= 400.0)
    assert np.all(plan.item_start_s[plan.item_lane >= 1] >= 100.0)


def test_edge_running_item_on_a_lane_that_closes():
    """Regression: a running item that outlives its lane merges into the closing."""
    kw = _one(segment_station=[0, 0], segment_start_s=[-60.0, 10.0], segment_lanes=[2, 1], item_order=[1, 2],
              item_station=[0, 0], item_prep_s=[60.0, 60.0], item_prep_sd_s=[10.0, 10.0], item_due_s=[100.0, 100.0],
              progress_item=[0], progress_lane=[1], progress_remaining_s=[40.0])
    plan = assert_same_plan(kw)
    assert plan.item_lane[0] == 1 and plan.item_finish_s[0] == 40.0 and plan.order_margin_s[0] > 0

"""The offline planner's iterated search (THOROUGH_PLANNER's ils_kicks): the kernel makes the
reference's plan, it never leaves a plan worse than the item search's, it is deterministic per
seed, and it is off on the live path."""

from dataclasses import replace

import numpy as np
from hypothesis import given, settings

from core_native import api
from core_native.config import DEFAULT_PLANNER, THOROUGH_PLANNER
from core_native.tools.optimal import random_instance, random_single_station_instance

from .conftest import as_plan_args, random_store, seeds
from .test_kernel_matches_reference import assert_same_plan

WITHOUT = replace(THOROUGH_PLANNER, ils_kicks=0)
FEW_KICKS = replace(THOROUGH_PLANNER, ils_kicks=3)  # the reference is slow: few kicks, small stores


def test_the_live_planner_runs_no_iterated_search():
    assert DEFAULT_PLANNER.ils_kicks == 0
    assert THOROUGH_PLANNER.ils_kicks > 0


@settings(max_examples=12, deadline=None)
@given(seeds)
def test_kernel_matches_reference_with_the_iterated_search(seed):
    rng = np.random.default_rng(seed)
    assert_same_plan(random_single_station_instance(rng, int(rng.integers(2, 13)), int(rng.integers(1, 3))),
                     FEW_KICKS)
    # several stations, running items, scheduled orders, closed lanes: items of an order split
    kw = as_plan_args(random_store(rng, n_orders=int(rng.integers(3, 8)), max_lanes=2))
    kw["item_due_s"] = kw["item_due_s"] * 0.3
    assert_same_plan(kw, FEW_KICKS)


def _twt(inst, config):
    return api.plan(**inst, config=config).total_weighted_tardiness


def test_never_worse_than_the_plan_it_starts_from_and_better_on_some():
    rng = np.random.default_rng(5)
    gains = []
    for k in range(8):
        inst = random_single_station_instance(rng, 40, 1 + k % 2) if k % 4 < 2 else random_instance(rng)
        before, after = _twt(inst, WITHOUT), _twt(inst, THOROUGH_PLANNER)
        assert after <= before + 1e-6
        gains.append(before - after)
    assert max(gains) > 0.0  # it does something (so this test can fail)


def test_same_seed_same_plan():
    rng = np.random.default_rng(8)
    inst = random_single_station_instance(rng, 40, 1)
    first = api.plan(**inst, config=THOROUGH_PLANNER)
    again = api.plan(**inst, config=THOROUGH_PLANNER)
    for field in ("item_lane", "item_start_s", "item_finish_s", "order_ready_s"):
        np.testing.assert_array_equal(getattr(first, field), getattr(again, field), err_msg=field)
    other = api.plan(**inst, config=replace(THOROUGH_PLANNER, ils_seed=2))
    assert other.total_weighted_tardiness <= _twt(inst, WITHOUT) + 1e-6

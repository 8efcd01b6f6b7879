"""Every plan keeps the rules: one item per lane at a time, lane counts, release
times, running items stay put; plus pacing, just in time and sequencing."""

import numpy as np
from hypothesis import given, settings

from core_native import api
from core_native.config import DEFAULT_PLANNER
from core_native.instances import plan_instance

from .conftest import chain, seeds

Z = DEFAULT_PLANNER.safety_z  # the margin's z (its value is a tuning decision, see config.py)


def lanes_at(kw, station, t):
    mask = kw["segment_station"] == station
    starts, counts = kw["segment_start_s"][mask], kw["segment_lanes"][mask]
    order = np.argsort(starts)
    count = 0
    for s, c in zip(starts[order], counts[order]):
        if s <= t:
            count = c
    return count


def check_rules(kw, plan):
    running = dict(zip(kw["progress_item"].tolist(), zip(kw["progress_lane"].tolist(),
                                                         kw["progress_remaining_s"].tolist())))
    by_lane = {}
    for i in range(kw["item_order"].size):
        lane = plan.item_lane[i]
        st = int(kw["item_station"][i])
        if lane < 0:
            assert np.isinf(plan.item_finish_s[i])
            continue
        start, finish = plan.item_start_s[i], plan.item_finish_s[i]
        by_lane.setdefault((st, int(lane)), []).append((start, finish))
        if i in running:
            assert (lane, finish) == (running[i][0], running[i][1]) and start == 0.0
            continue
        assert abs(finish - start - kw["item_prep_s"][i]) < 1e-6
        assert start >= max(0.0, kw["item_release_s"][i]) - 1e-9, "started before release"
        # the lane is staffed for the whole time the item is made (checked at every staffing change)
        points = [start] + [t for t in kw["segment_start_s"][kw["segment_station"] == st] if start < t < finish]
        for t in points:
            assert lane < lanes_at(kw, st, t), f"item {i} on closed lane {lane} at {t}"
    for intervals in by_lane.values():
        intervals.sort()
        for (a0, a1), (b0, b1) in zip(intervals, intervals[1:]):
            assert b0 >= a1 - 1e-9, "two items on one lane at once"


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_every_plan_keeps_the_rules(seed):
    rng = np.random.default_rng(seed)
    kw = chain(rng, int(rng.integers(1, 4)))
    check_rules(kw, api.plan(**kw))


@settings(max_examples=30, deadline=None)
@given(seeds)
def test_improvement_never_worse_than_dispatch(seed):
    rng = np.random.default_rng(seed)
    kw = chain(rng, 2)
    kw["item_due_s"] = kw["item_due_s"] * 0.4
    improved = api.plan(**kw)
    dispatched = api.plan(**kw, improve=False)
    assert improved.total_weighted_tardiness <= dispatched.total_weighted_tardiness + 1e-6


def _store(**over):
    kw = dict(segment_station=[0, 1], segment_start_s=[0.0, 0.0], segment_lanes=[2, 2], item_order=[1, 1],
              item_station=[0, 1], item_prep_s=[50.0, 240.0], item_due_s=[400.0, 400.0], handoff_s=15.0,
              station_store=[0, 0])
    kw.update(over)
    return {k: (np.asarray(v) if isinstance(v, list) else v) for k, v in kw.items()}


def test_pacing_brings_an_order_together():
    plan = api.plan(**_store())
    # the 50 s drink is started late so it is done with the 240 s sandwich, not 190 s before it
    assert plan.item_start_s[1] == 0.0
    assert plan.item_finish_s[0] == 240.0
    assert plan.order_ready_s[0] == 255.0


def test_pacing_leaves_a_safety_gap_for_uncertain_items():
    plan = api.plan(**_store(item_prep_sd_s=[10.0, 0.0]))
    assert abs(plan.item_finish_s[0] - (240.0 - Z * 10.0)) < 1e-9


def test_scheduled_order_is_made_just_in_time():
    kw = _store(item_just_in_time=[True, True], item_due_s=[1800.0, 1800.0], item_prep_sd_s=[10.0, 20.0])
    plan = api.plan(**kw)
    margin = Z * np.sqrt(10.0**2 + 20.0**2)
    target = 1800.0 - 15.0 - margin - 30.0
    assert np.all(plan.item_finish_s <= target + 1e-9)
    assert plan.item_finish_s.max() == target  # not earlier than needed
    assert plan.order_ready_s[0] <= 1800.0


def test_scheduled_order_falls_back_to_asap_when_it_cannot_be_just_in_time():
    kw = _store(item_just_in_time=[True, True], item_due_s=[100.0, 100.0])
    plan = api.plan(**kw)
    assert plan.item_start_s.min() == 0.0


def test_earliest_due_goes_first():
    kw = _store(segment_station=[0], segment_start_s=[0.0], segment_lanes=[1], station_store=[0],
                item_order=[1, 2, 3], item_station=[0, 0, 0], item_prep_s=[60.0, 60.0, 60.0],
                item_due_s=[500.0, 100.0, 300.0])
    plan = api.plan(**kw)
    assert list(np.argsort(plan.item_start_s)) == [1, 2, 0]


def test_overload_keeps_the_heavier_promise():
    kw = _store(segment_station=[0], segment_start_s=[0.0], segment_lanes=[1], station_store=[0],
                item_order=[1, 2], item_station=[0, 0], item_prep_s=[60.0, 60.0], item_due_s=[60.0, 61.0],
                item_weight=[1.0, 5.0], handoff_s=0.0)
    plan = api.plan(**kw)
    assert plan.item_start_s[1] == 0.0  # the weight-5 order is made first although due later
    assert plan.total_weighted_tardiness == 60.0  # rather than 5 x 59 the other way round


def test_plan_instance_totals():
    inst = {"stations": [{"name": "espresso", "lanes": [[0, 1]]}],
            "items": [{"order": "A", "station": "espresso", "prep_s": 60, "due_s": 50, "weight": 2},
                      {"order": "B", "station": "espresso", "prep_s": 60, "due_s": 200}]}
    out = plan_instance(inst)
    assert out["totals"] == dict(total_weighted_tardiness=20.0, late_items=1, makespan=120.0, unscheduled_items=0)


def test_compiled_in_tunables_come_from_config():
    """Both implementations read the one value in config.py (no second copy to drift)."""
    from core_native import _kernels, config, reference

    for name in ("FIRE_WINDOW_S", "MAX_MOVE", "ITEM_MAX_MOVE"):
        assert getattr(_kernels, name) is getattr(config, name), name
        assert getattr(reference, name) is getattr(config, name), name


def test_pacing_takes_no_time_another_item_uses():
    """One lane: the drink of order 1 cannot slide behind order 2's drink, so it stays put."""
    kw = _store(segment_lanes=[1, 1], item_order=[1, 1, 2], item_station=[0, 1, 0],
                item_prep_s=[50.0, 240.0, 50.0], item_due_s=[400.0, 400.0, 450.0])
    plan = api.plan(**kw)
    assert plan.item_start_s[0] == 0.0 and plan.item_start_s[2] == 50.0
    assert plan.order_ready_s[1] == 115.0


def test_fire_window_closes_a_dead_gap_in_front_of_a_scheduled_item():
    """A 10 s hole before a scheduled drink cannot hold any 50 s drink: the drink starts 10 s earlier."""
    kw = _store(segment_station=[0], segment_start_s=[0.0], segment_lanes=[1], station_store=[0], handoff_s=0.0,
                item_order=[1, 2], item_station=[0, 0], item_prep_s=[50.0, 50.0], item_due_s=[50.0, 140.0],
                item_just_in_time=[False, True])
    plan = api.plan(**kw)
    # just in time would be [60, 110) (due 140 - 30 s buffer); the hole [50, 60) is dead
    assert plan.item_start_s[1] == 50.0 and plan.order_ready_s[1] == 100.0


def test_margin_pools_work_ahead_over_the_station_lanes():
    """Own items count in full on the critical chain; another order's item ahead counts 1/lanes."""
    kw = dict(segment_station=np.array([0], np.int64), segment_start_s=np.array([0.0]),
              segment_lanes=np.array([2], np.int64), item_order=np.array([0, 1, 2], np.int64),
              item_station=np.zeros(3, np.int64), item_prep_s=np.full(3, 60.0),
              item_prep_sd_s=np.full(3, 10.0), item_due_s=np.array([100.0, 110.0, 300.0]))
    for use_reference in (False, True):
        plan = api.plan(**kw, use_reference=use_reference)
        # orders 0 and 1 start at once on the two lanes; order 2 follows one of them back to back
        assert sorted(plan.item_start_s.tolist()) == [0.0, 0.0, 60.0]
        assert np.isclose(plan.order_margin_s[0], Z * 10.0)
        assert np.isclose(plan.order_margin_s[2], Z * np.sqrt(100.0 + 100.0 / 2))


def test_planner_params_carry_every_planner_config_field_by_name():
    """The kernels and the reference read the parameters by name (PlannerParams), never by position."""
    import dataclasses

    from core_native._kernel_args import config_tuple
    from core_native.config import DEFAULT_PLANNER, THOROUGH_PLANNER

    for config in (DEFAULT_PLANNER, THOROUGH_PLANNER):
        assert config_tuple(config)._asdict() == dataclasses.asdict(config)

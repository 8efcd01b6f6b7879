"""Fire by arrival in the simulator (issue 27): make-it-when-I-arrive customers, planned as the app plans them
(pickup_rules.arrival_timing, mirrored by StoreSim._plan_timing); the kernels plan such stores as the reference."""

import math

import numpy as np
import pytest
from hypothesis import given, settings

from core_native.tools import arrival_compare, scenario, simulate

from .conftest import as_plan_args, random_store, seeds
from .test_kernel_matches_reference import assert_same_plan
from .test_simulate import small_scenario


def arrival_scenario(seed=5, share=0.6, **extra):
    sc = small_scenario(seed=seed, horizon_s=2400)
    sc["arrivals"][0]["fire_on_arrival_share"] = share
    sc["eta_notice_s"] = {"mean": 240, "sd": 90}
    sc["customer_arrival_offset_s"] = {"mean": 120, "sd": 150}
    sc.update(extra)
    return sc


def test_same_seed_same_result_with_arrival_firing():
    first = simulate.simulate(arrival_scenario(), "planner")
    assert first == simulate.simulate(arrival_scenario(), "planner")
    assert first != simulate.simulate(arrival_scenario(seed=6), "planner")
    orders = simulate.StoreSim(arrival_scenario(), "planner").orders
    assert 0 < sum(o["fire_on_arrival"] for o in orders) < len(orders)


@pytest.mark.parametrize("policy", simulate.POLICIES)
def test_scenario_without_the_option_is_unchanged(policy):
    """No option, and the option explicitly off (with a notice set), give the same run to the bit."""
    plain = small_scenario()
    off = small_scenario()
    off["arrivals"][0]["fire_on_arrival_share"] = 0
    off["arrivals"][1]["fire_on_arrival_share"] = 0
    off["eta_notice_s"] = {"mean": 300, "sd": 60}
    assert simulate.simulate(plain, policy) == simulate.simulate(off, policy)


def test_arrival_draws_leave_the_customers_draws_alone():
    """The fire-by-arrival draws come from a generator of their own: the same customers on or off."""
    def drawn(sc):
        return [(o["time"], o["skus"], o["actual"], o["offset"], o["scheduled"], o["wanted"])
                for o in scenario.draw_orders(scenario.validate_scenario(sc)["_"])]
    with_option = small_scenario()
    with_option["arrivals"][0]["fire_on_arrival_share"] = 0.6
    with_option["eta_notice_s"] = {"mean": 240, "sd": 90}
    assert drawn(with_option) == drawn(small_scenario())
    assert drawn(arrival_scenario(share=0.6)) == drawn(arrival_scenario(share=0.0))


@pytest.mark.parametrize("policy", ["fixed", "fifo"])
def test_baselines_ignore_arrival_firing(policy):
    assert simulate.simulate(arrival_scenario(share=0.6), policy) == simulate.simulate(arrival_scenario(share=0),
                                                                                       policy)


def _customer(promised=600.0, eta=math.nan, here=math.nan):
    return dict(fire_on_arrival=True, release=0.0, promised=promised, eta=eta, here=here, scheduled=False)


def test_plan_timing_is_the_apps_rule():
    """StoreSim._plan_timing mirrors pickup_rules.arrival_timing: silent, just in time for the promise plus
    ARRIVAL_AIM_AFTER_PROMISE_S until the hold limit, then as soon as possible for the promise; "on my way",
    as soon as possible for the ETA from ETA_LEAD_S before it; "I'm here", as soon as possible."""
    sim = simulate.StoreSim(arrival_scenario(share=1.0, shelf_hold_s=300), "planner")
    aim, lead = simulate.ARRIVAL_AIM_AFTER_PROMISE_S, simulate.ETA_LEAD_S
    assert sim._plan_timing(_customer(), 0.0) == (0.0, 600.0 + aim, True, 1.0)
    assert sim._plan_timing(_customer(), 900.0) == (0.0, 600.0, False, 1.0)  # hold limit passed
    assert sim._plan_timing(_customer(eta=1500.0), 100.0) == (1500.0 - lead, 1500.0, False, 1.0)
    assert sim._plan_timing(_customer(eta=200.0), 100.0) == (0.0, 200.0, False, 1.0)  # short notice: at once
    assert sim._plan_timing(_customer(eta=1500.0, here=700.0), 700.0) == (0.0, 700.0, False, 1.0)
    short_hold = simulate.StoreSim(arrival_scenario(share=1.0, shelf_hold_s=60), "planner")
    assert short_hold._plan_timing(_customer(), 0.0)[1] == 660.0  # never aimed beyond the hold limit


def test_the_rules_constants_are_the_apps():
    """The rule is written twice (core_native does not import Django): the same constants in both."""
    from fulfilment.services import pickup_rules
    assert pickup_rules.ARRIVAL_AIM_AFTER_PROMISE.total_seconds() == simulate.ARRIVAL_AIM_AFTER_PROMISE_S
    assert pickup_rules.ETA_LEAD.total_seconds() == simulate.ETA_LEAD_S


def _first_starts(sim):
    first = {}
    for it, idx in enumerate(sim.it_order):
        first[idx] = min(first.get(idx, math.inf), sim.it_start[it])
    return first


def test_silent_orders_are_not_made_at_once():
    """A make-it-when-I-arrive order placed well ahead is not made on placing, as fifo makes it, but planned
    for a little after its promise (or made on the customer's "on my way" if that comes first): none starts
    within a minute of placing, and on average they start minutes later than fifo starts them."""
    sim = simulate.StoreSim(arrival_scenario(share=1.0), "planner")
    sim.run()
    fifo = simulate.StoreSim(arrival_scenario(share=1.0), "fifo")
    fifo.run()
    far = [i for i, o in enumerate(sim.orders) if o["fire_on_arrival"] and not o["rejected"]
           and o["promised"] - o["time"] > 600]
    assert len(far) >= 3
    first, fifo_first = _first_starts(sim), _first_starts(fifo)
    assert all(first[i] > sim.orders[i]["time"] + 60 for i in far)
    waited = [first[i] - sim.orders[i]["time"] for i in far]
    fifo_waited = [fifo_first[i] - sim.orders[i]["time"] for i in far]
    assert sum(waited) / len(far) > sum(fifo_waited) / len(far) + 120


def test_shelf_time_is_hold_and_drops_with_arrival_firing():
    on = simulate.simulate(arrival_scenario(share=1.0), "planner")
    off = simulate.simulate(arrival_scenario(share=0.0), "planner")
    assert on["shelf_time_p90_s"] == on["hold_p90_s"]
    assert on["shelf_time_p90_s"] < off["shelf_time_p90_s"]


@pytest.mark.parametrize("change, message", [
    (lambda sc: sc["arrivals"][1].update(fire_on_arrival_share=0.2), "already here"),
    (lambda sc: sc["arrivals"][0].update(fire_on_arrival_share=1.5), "at most 1"),
    (lambda sc: sc["arrivals"][0].update(fire_on_arrival_share=-0.1), "fire_on_arrival_share"),
    (lambda sc: sc.update(eta_notice_s=240), "eta_notice_s must be an object"),
    (lambda sc: sc.update(eta_notice_s={"mean": 240, "sd": -1}), "eta_notice_s.sd"),
    (lambda sc: sc.update(shelf_hold_s=0), "shelf_hold_s"),
])
def test_bad_arrival_options_say_why(change, message):
    sc = arrival_scenario()
    change(sc)
    with pytest.raises(scenario.ScenarioError, match=message):
        scenario.validate_scenario(sc)


def arrival_store(rng):
    """A random store some of whose orders are make-it-when-I-arrive, in states the kernels must plan alike:
    held (released far ahead, weight 0), on the way (just in time for the ETA) and here (as soon as
    possible, due when they walked in). The app's rule has changed since (pickup_rules.arrival_timing), but
    release, weight and just-in-time combinations like these are still the kernels' to plan."""
    kw = random_store(rng)
    orders = np.unique(kw["item_order"])
    for o in orders:
        rows = kw["item_order"] == o
        state = rng.choice(["plain", "held", "eta", "here"])
        if state == "held":
            promised = float(rng.uniform(60, 900))
            kw["item_due_s"][rows] = promised
            kw["item_release_s"][rows] = promised + float(rng.choice([300.0, 3600.0, 7200.0]))
            kw["item_weight"][rows] = 0.0
            kw["item_just_in_time"][rows] = False
        elif state == "eta":
            kw["item_due_s"][rows] = float(rng.uniform(60, 1200))
            kw["item_release_s"][rows] = 0.0
            kw["item_weight"][rows] = 1.0
            kw["item_just_in_time"][rows] = True
        elif state == "here":
            kw["item_due_s"][rows] = float(rng.uniform(-120, 0))
            kw["item_release_s"][rows] = 0.0
            kw["item_just_in_time"][rows] = False
    return kw


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_kernel_plans_arrival_orders_as_the_reference(seed):
    rng = np.random.default_rng(seed)
    assert_same_plan(as_plan_args(arrival_store(rng)))


def test_held_orders_wait_for_their_release_in_the_plan():
    """A held order is planned after its far release; an ETA order ready just before its ETA, not at once."""
    kw = dict(segment_station=np.array([0], np.int64), segment_start_s=np.zeros(1),
              segment_lanes=np.array([1], np.int64), item_order=np.array([1, 2, 3], np.int64),
              item_station=np.zeros(3, np.int64), item_prep_s=np.array([60.0, 60.0, 60.0]),
              item_prep_sd_s=np.zeros(3), item_release_s=np.array([0.0, 3600.0, 0.0]),
              item_due_s=np.array([120.0, 300.0, 1200.0]), item_weight=np.array([1.0, 0.0, 1.0]),
              item_just_in_time=np.array([False, False, True]), handoff_s=15.0,
              station_store=np.zeros(1, np.int64))
    plan = assert_same_plan(kw)
    assert plan.item_start_s[1] >= 3600.0
    assert 600.0 < plan.item_start_s[2] < 1200.0
    assert plan.item_start_s[0] < 60.0


def test_arrival_compare_rows():
    rows = arrival_compare.compare(scenario.validate_scenario(arrival_scenario(share=1.0)), n_seeds=2, learning=None)
    by = {(r["policy"], r["arrival_firing"]): r for r in rows}
    assert len(rows) == 2 * len(simulate.POLICIES)
    for policy in ("fixed", "fifo"):  # no arrival feature: the same customers give the same figures
        assert by[policy, "on"] == dict(by[policy, "off"], arrival_firing="on")
    assert by["planner", "on"]["shelf_time_p90_s"]["mean"] < by["planner", "off"]["shelf_time_p90_s"]["mean"]
    assert "| planner | on |" in arrival_compare.markdown(rows)

"""The store simulator: same seed, same result; the DESIGN.md metric keys."""

import dataclasses
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from core_native.tools import scenario, simulate

SCENARIOS = Path(__file__).resolve().parents[3] / "shared" / "scenarios"


def small_scenario(seed=5, horizon_s=1500):
    return {
        "name": "tiny", "seed": seed, "horizon_s": horizon_s, "slot_s": 300, "slot_capacity": 4, "handoff_s": 15,
        "stations": [{"name": "espresso", "lanes": [[0, 1], [600, 2]]}, {"name": "oven", "lanes": [[0, 1]]}],
        "menu": [{"sku": "latte", "station": "espresso", "prep_s": 55, "cv": 0.25, "weight": 0.7},
                 {"sku": "toastie", "station": "oven", "prep_s": 150, "cv": 0.2, "weight": 0.3}],
        "items_per_order": {"mean": 1.6, "max": 4},
        "arrivals": [{"channel": "mobile", "rate_per_h": [[0, 40]], "scheduled_share": 0.3, "lead_s": [300, 900]},
                     {"channel": "counter", "rate_per_h": [[0, 30]], "scheduled_share": 0, "lead_s": [0, 0]}],
        "customer_arrival_offset_s": {"mean": 30, "sd": 120},
    }


@pytest.mark.parametrize("policy", simulate.POLICIES)
def test_same_seed_same_result(policy):
    first = simulate.simulate(small_scenario(), policy)
    second = simulate.simulate(small_scenario(), policy)
    assert first == second
    assert set(simulate.METRIC_KEYS) <= set(first)
    assert first["orders"] > 0


def test_other_seed_other_customers():
    assert simulate.simulate(small_scenario(seed=5), "fifo") != simulate.simulate(small_scenario(seed=6), "fifo")


def test_policies_face_the_same_customers():
    a = simulate.StoreSim(small_scenario(), "planner").orders
    b = simulate.StoreSim(small_scenario(), "fixed").orders
    assert [(o["time"], o["skus"], o["actual"]) for o in a] == [(o["time"], o["skus"], o["actual"]) for o in b]


def test_shared_scenarios_are_valid():
    files = sorted(SCENARIOS.glob("*.json"))
    if not files:
        pytest.skip("shared/scenarios not found")
    for f in files:
        scenario.validate_scenario(json.loads(f.read_text()))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["steady-weekday", "morning-rush", "scheduled-lunch"])
def test_planner_on_shared_scenarios_runs(name):
    path = SCENARIOS / f"{name}.json"
    if not path.exists():
        pytest.skip("shared/scenarios not found")
    metrics = simulate.simulate(scenario.load_scenario(str(path)), "planner")
    assert metrics["orders"] > 0


def overloaded_scenario(seed=1):
    """One espresso lane, app orders wanting a pickup 1-7 minutes ahead: more than the lane can make."""
    return {
        "name": "tiny-overload", "seed": seed, "horizon_s": 1800, "slot_s": 300, "slot_capacity": 20,
        "handoff_s": 15, "stations": [{"name": "espresso", "lanes": [[0, 1]]}],
        "menu": [{"sku": "latte", "station": "espresso", "prep_s": 60, "cv": 0.2}],
        "items_per_order": {"mean": 1.5, "max": 3},
        "arrivals": [{"channel": "mobile", "rate_per_h": [[0, 60]], "scheduled_share": 0.5, "lead_s": [60, 400]},
                     {"channel": "counter", "rate_per_h": [[0, 30]]}],
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_full_kitchen_offers_an_honest_later_time_instead_of_refusing(seed):
    # Before, the planner turned 7-8 of these customers away (no wanted slot the kitchen could make)
    # while fifo took them all; now they get the kitchen's later time, and it holds.
    sim = simulate.StoreSim(overloaded_scenario(seed), "planner")
    metrics = sim.run()
    later = [o for o in sim.orders if o.get("asap")]
    assert later, "the scenario must overload the wanted slots"
    assert metrics["rejected_orders"] == 0 == simulate.simulate(overloaded_scenario(seed), "fifo")["rejected_orders"]
    slot_s = 300
    for o in later:
        assert o["promised"] >= (o["wanted"] // slot_s) * slot_s  # never before the slot they asked for
        assert o["ready"] <= o["promised"] + simulate.DEFAULT_SIMULATOR.on_time_grace_s
    assert metrics["on_time_rate"] >= 0.95


def test_actual_prep_s_changes_the_real_times_not_the_planned_ones():
    sc = small_scenario()
    slow = small_scenario()
    slow["menu"][0]["actual_prep_s"] = 110  # latte configured 55 s, really twice that
    a, b = simulate.StoreSim(sc, "fifo"), simulate.StoreSim(slow, "fifo")
    assert [(o["time"], o["skus"]) for o in a.orders] == [(o["time"], o["skus"]) for o in b.orders]
    for oa, ob in zip(a.orders, b.orders):
        for sku, ta, tb in zip(oa["skus"], oa["actual"], ob["actual"]):
            assert tb == pytest.approx(ta * (2.0 if sku == 0 else 1.0))  # same draws, the real mean scaled
    b.run()
    assert set(b.it_mean) == {55.0, 150.0}  # policies still plan and quote with prep_s


@pytest.mark.parametrize("value, message", [
    (0, "menu item 'latte' actual_prep_s (the real mean prep seconds) must be > 0, got 0"),
    ("slow", "menu item 'latte' actual_prep_s (the real mean prep seconds) must be a number"),
])
def test_actual_prep_s_is_checked(value, message):
    sc = small_scenario()
    sc["menu"][0]["actual_prep_s"] = value
    with pytest.raises(scenario.ScenarioError) as exc:
        scenario.validate_scenario(sc)
    assert str(exc.value) == message


STRESS = Path(__file__).resolve().parents[2] / "core_native" / "scenarios"


def test_stress_days_are_in_the_repository_and_valid():
    names = {f.stem for f in STRESS.glob("*.json")}
    assert {"promotion-hour", "barista-leaves", "bakery-cafe", "drive-thru-heavy", "espresso-times-short"} <= names
    for f in STRESS.glob("*.json"):
        sc = scenario.load_scenario(str(f))
        assert sc["name"] == f.stem
    short = scenario.load_scenario(str(STRESS / "espresso-times-short.json"))["_"]
    espresso = short["station_names"].index("espresso")
    for (st, prep, *_), actual in zip(short["menu"], short["actual_prep"]):
        assert actual == pytest.approx(prep / 0.7, abs=0.5) if st == espresso else actual == prep


def idle_store(kinds, channel="counter", sim_config=simulate.DEFAULT_SIMULATOR):
    """A planner StoreSim with one open item per entry of `kinds` (scheduled or not), every lane idle at t=0."""
    sim = simulate.StoreSim(small_scenario(), "planner", sim_config=sim_config)
    sim.orders = [dict(channel=channel if not scheduled else "mobile", time=0.0, skus=[0], actual=[55.0], scheduled=scheduled, wanted=0.0,
                       offset=0.0, promised=600.0, ready=math.nan, rejected=False, remaining=1, release=0.0,
                       rank=math.nan) for scheduled in kinds]
    for i in range(len(kinds)):
        sim.it_order.append(i)
        sim.it_station.append(0)
        sim.it_mean.append(55.0)
        sim.it_sd.append(10.0)
        sim.it_actual.append(55.0)
        sim.it_state.append(0)
        sim.it_lane.append(-1)
        sim.it_start.append(math.nan)
        sim.it_finish.append(math.nan)
        sim.open_items.append(i)
    return sim


def fake_plan(starts, lanes, slack_s):
    n = len(starts)
    return SimpleNamespace(item_start_s=np.asarray(starts, float), item_finish_s=np.asarray(starts, float) + 55,
                           item_lane=np.asarray(lanes), order_id=np.arange(n), order_ready_s=np.full(n, 100.0),
                           order_margin_s=np.zeros(n), order_due_s=np.full(n, 100.0) + slack_s)


def started(sim):
    return [i for i, state in enumerate(sim.it_state) if state == 1]


def test_an_idle_barista_starts_the_next_asap_ticket_on_their_lane():
    sim = idle_store([False])
    sim._start_asap_on_idle_lanes(0.0, [0], fake_plan([120.0], [0], slack_s=0.0))
    assert started(sim) == [0] and sim.it_lane[0] == 0


def test_scheduled_and_far_off_tickets_keep_their_planned_start():
    sim = idle_store([True, False])  # a just-in-time ticket at 120 s, an ASAP one planned 400 s out
    sim._start_asap_on_idle_lanes(0.0, [0, 1], fake_plan([120.0, 400.0], [0, 1], slack_s=0.0))
    assert started(sim) == []


@pytest.mark.parametrize("slack_s, expected", [(0.0, []), (60.0, [1])])
def test_an_asap_ticket_jumps_a_scheduled_one_only_if_its_promise_has_room(slack_s, expected):
    # lane 0: the scheduled ticket planned at 20 s, the ASAP one behind it at 75 s; starting the ASAP
    # one now pushes the scheduled one 35 s later
    sim = idle_store([True, False])
    sim._start_asap_on_idle_lanes(0.0, [0, 1], fake_plan([20.0, 75.0], [0, 0], slack_s=slack_s))
    assert started(sim) == expected


@pytest.mark.parametrize("channel, expected", [("counter", [1]), ("mobile", [])])
def test_with_walk_ins_first_a_waiting_customer_jumps_even_a_scheduled_ticket_without_room(channel, expected):
    # as above with no slack; idle_start_walk_ins lets the walk-in's ticket go first, not an app order's
    walk_ins_first = dataclasses.replace(simulate.DEFAULT_SIMULATOR, idle_start_walk_ins=True)
    sim = idle_store([True, False], channel=channel, sim_config=walk_ins_first)
    sim._start_asap_on_idle_lanes(0.0, [0, 1], fake_plan([20.0, 75.0], [0, 0], slack_s=0.0))
    assert started(sim) == expected


def test_with_walk_ins_first_an_idle_lane_takes_a_ticket_planned_on_another_lane():
    walk_ins_first = dataclasses.replace(simulate.DEFAULT_SIMULATOR, idle_start_walk_ins=True)
    sim = idle_store([False], channel="mobile", sim_config=walk_ins_first)
    sim.lane_item[0][0] = 99  # at 600 s espresso has two lanes: lane 0 busy (the ticket is planned there), 1 idle
    sim._start_asap_on_idle_lanes(600.0, [0], fake_plan([120.0], [0], slack_s=0.0))
    assert started(sim) == [0] and sim.it_lane[0] == 1


def test_slot_quotes_can_keep_room_for_the_walk_ins_expected_before_the_slot():
    """walk_in_reserve_s: one typical order per expected walk-in (the in-store rate), each due that long after it
    arrives, is added to the store the slot quote plans; off, the quote sees the store as it is."""
    reserve = dataclasses.replace(simulate.DEFAULT_SIMULATOR, walk_in_reserve_s=300.0)
    sim = simulate.StoreSim(small_scenario(), "planner", sim_config=reserve)
    kw = sim._store_arrays(0.0)
    with_walk_ins = sim._with_expected_walk_ins(kw, 0.0, 3600.0)
    counter_rate = next(rates[0][1] for channel, rates, *_ in sim.p["arrivals"] if channel == "counter")
    added = np.unique(with_walk_ins["item_order"][kw["item_order"].size:])
    assert len(added) == pytest.approx(counter_rate, abs=1)  # an hour of expected walk-ins
    assert np.all(with_walk_ins["item_due_s"][kw["item_order"].size:]
                  == with_walk_ins["item_release_s"][kw["item_order"].size:] + 300.0)
    assert added.min() >= len(sim.orders)  # not any real order's id
    simulate.simulate(small_scenario(), "planner", sim_config=reserve)  # and a whole day runs with it

"""The store simulator: same seed, same result; the DESIGN.md metric keys."""

import json
from pathlib import Path

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

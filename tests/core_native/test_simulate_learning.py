"""The simulator's planner learning prep times (--learn): deterministic per seed, and it learns the real
times when the configured ones are wrong."""

import json

import pytest

from core_native.config import DEFAULT_LEARNING
from core_native.tools import learn_report, scenario, simulate


def wrong_scenario(seed=7, horizon_s=5400):
    """Lattes really take 30% longer than configured (55 s -> 79 s), toasties 30% less (150 s -> 105 s)."""
    return {
        "name": "tiny-wrong", "seed": seed, "horizon_s": horizon_s, "slot_s": 300, "slot_capacity": 6, "handoff_s": 15,
        "stations": [{"name": "espresso", "lanes": [[0, 2]]}, {"name": "oven", "lanes": [[0, 1]]}],
        "menu": [{"sku": "latte", "station": "espresso", "prep_s": 55, "cv": 0.25, "weight": 0.7, "actual_prep_s": 79},
                 {"sku": "toastie", "station": "oven", "prep_s": 150, "cv": 0.2, "weight": 0.3, "actual_prep_s": 105}],
        "items_per_order": {"mean": 1.6, "max": 4},
        "arrivals": [{"channel": "mobile", "rate_per_h": [[0, 40]], "scheduled_share": 0.2, "lead_s": [300, 900]},
                     {"channel": "counter", "rate_per_h": [[0, 30]], "scheduled_share": 0, "lead_s": [0, 0]}],
        "customer_arrival_offset_s": {"mean": 30, "sd": 120},
    }


def run(seed=7, learning=DEFAULT_LEARNING):
    sim = simulate.StoreSim(scenario.validate_scenario(wrong_scenario(seed)), "planner", learning=learning)
    return sim, sim.run()


def test_learning_is_deterministic_per_seed():
    (a, metrics_a), (b, metrics_b) = run(), run()
    assert metrics_a == metrics_b
    assert a.learned == b.learned and a.it_mean == b.it_mean
    assert run(seed=8)[1] != metrics_a


def test_the_planner_learns_the_real_times_and_keeps_more_promises():
    sim, learned = run()
    _, configured = run(learning=None)
    latte, toastie = sim.learned
    assert latte.n > 50 and toastie.n > 20
    assert latte.mean_s == pytest.approx(79, rel=0.1) and toastie.mean_s == pytest.approx(105, rel=0.1)
    last_latte = [m for m, sku in zip(sim.it_mean, sim.it_sku) if sku == 0][-1]
    assert last_latte == pytest.approx(79, rel=0.1)  # the last orders were planned with the learned time
    assert learned["on_time_rate"] > configured["on_time_rate"]


def test_without_learning_the_configured_times_are_planned_throughout():
    sim, _ = run(learning=None)
    assert sim.learned is None
    assert set(sim.it_mean) == {55.0, 150.0}


def test_fifo_ignores_the_learning_option():
    first = simulate.simulate(scenario.validate_scenario(wrong_scenario()), "fifo", learning=DEFAULT_LEARNING)
    assert first == simulate.simulate(scenario.validate_scenario(wrong_scenario()), "fifo")


def test_the_cli_learns_with_the_flag(tmp_path, capsys):
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(wrong_scenario(horizon_s=1800)))
    outputs = []
    for extra in ([], ["--learn"]):
        assert simulate.main(["--scenario", str(path), "--policy", "planner", "--json", *extra]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0]["orders"] == outputs[1]["orders"] and outputs[0] != outputs[1]


def test_the_report_counts_orders_until_the_plan_is_within_ten_percent():
    sc = scenario.validate_scenario(wrong_scenario())
    configured, learning, oracle = (learn_report.run_one(sc, way, 7) for way in learn_report.WAYS)
    assert learning == learn_report.run_one(sc, "learning", 7)
    assert configured["plan_ok_after"] is None  # 30% off all day
    assert oracle["plan_ok_after"] == 0
    assert 0 < learning["plan_ok_after"] < learning["whole"]["orders"]
    assert learning["plan_error_after"] < 0.1 < configured["plan_error_after"]

"""The promised window (api.promise_window) and the simulator's window metrics."""

from pathlib import Path

import pytest

from core_native.api import promise_window
from core_native.config import DEFAULT_PLANNER, WindowConfig
from core_native.tools import scenario, simulate
from tests.core_native.test_simulate import small_scenario

Z = DEFAULT_PLANNER.safety_z


@pytest.mark.parametrize("promise", [0.0, 59.0, 600.0, 1234.5, 1_700_000_017.0])
@pytest.mark.parametrize("margin", [0.0, 5.0, 24.0, 80.0, 300.0])
def test_the_window_holds_the_planned_time_and_the_promise_on_whole_minutes(promise, margin):
    start, end = promise_window(promise, margin)
    assert start <= promise - margin and promise <= end
    assert end - start >= 60.0
    assert start % 60 == 0 and end % 60 == 0


def test_no_spread_gives_the_minimum_width_around_the_promise():
    assert promise_window(630.0, 0.0, config=WindowConfig(round_s=0)) == (600.0, 660.0)
    assert promise_window(630.0, 0.0) == (600.0, 660.0)


def test_the_window_widens_with_the_plans_uncertainty():
    config = WindowConfig(round_s=0)
    widths = [end - start for start, end in (promise_window(1000.0, m, config=config) for m in range(0, 400, 8))]
    assert all(b >= a for a, b in zip(widths, widths[1:]))
    assert widths[-1] > widths[0]
    # sd = margin / safety_z; the window is early_z sd before and late_z sd after the planned time
    start, end = promise_window(1000.0, 80.0, config=config)
    sd = 80.0 / Z
    assert start == pytest.approx(920.0 - config.early_z * sd)
    assert end == pytest.approx(max(1000.0, 920.0 + config.late_z * sd))


def test_window_coverage_is_deterministic_per_seed():
    sc = small_scenario()
    first = simulate.simulate(sc, "planner")
    again = simulate.simulate(sc, "planner")
    assert first["window_coverage"] == again["window_coverage"]
    assert first["window_width_p50_s"] == again["window_width_p50_s"] >= 60.0
    assert 0.0 < first["window_coverage"] <= 1.0


@pytest.mark.slow
def test_about_nine_in_ten_orders_are_ready_inside_their_window():
    # A stress day kept in the repository, so the check runs in every clone (../shared/scenarios may be absent).
    path = Path(scenario.__file__).resolve().parents[1] / "scenarios" / "drive-thru-heavy.json"
    result = simulate.simulate(scenario.load_scenario(str(path)), "planner")
    assert 0.8 <= result["window_coverage"] <= 0.99
    assert result["window_width_p50_s"] <= 300.0

"""Kernel equals reference on the store states a simulated day really produces: prep times the planner
has learned from the items it saw finish, arrival-fired orders (held, on my way, here) and the promised
windows built on the quote's margin. The random stores of test_kernel_matches_reference cover the
kernels' input space; these are the states the issue 27 features put into it."""

import numpy as np

from core_native import api
from core_native.config import DEFAULT_LEARNING
from core_native.tools import scenario, simulate

from .test_kernel_matches_reference import assert_same_plan
from .test_simulate_arrival import arrival_scenario
from .test_simulate_learning import wrong_scenario


def captured_states(sc, every=15):
    """Run the planner (learning) over the scenario and keep every `every`-th store state it planned or
    quoted, with the new order's arrays of the quotes."""
    sim = simulate.StoreSim(scenario.validate_scenario(sc), "planner", learning=DEFAULT_LEARNING)
    plans, quotes = [], []
    store_arrays, quote = sim._store_arrays, sim._quote

    def keep_plan_state(now):
        kw = store_arrays(now)
        if len(plans) < 400:
            arrival_open = any(sim.orders[o].get("fire_on_arrival") for o in set(kw["item_order"].tolist()))
            plans.append((kw, arrival_open))
        return kw

    def keep_quote(now, stations, means, sds, first_slot_rel, booked, timed=False, **options):
        q = quote(now, stations, means, sds, first_slot_rel, booked, timed, **options)
        quotes.append((store_arrays(now), dict(
            new_item_station=np.asarray(stations, np.int64), new_item_prep_s=np.asarray(means),
            new_item_prep_sd_s=np.asarray(sds), slot_first_start_s=first_slot_rel, slot_s=sim.p["slot_s"],
            slot_capacity=sim.p["capacity"], slot_orders=np.asarray(booked, np.int64), new_just_in_time=timed), q))
        return q

    sim._store_arrays, sim._quote = keep_plan_state, keep_quote
    sim.run()
    return sim, plans[::every], quotes[::every]


def assert_same_quote(kw, new, kernel_answer, n_stations):
    ref = api.quote(**kw, **new, n_stations=n_stations, use_reference=True)
    assert (kernel_answer.ready_s, kernel_answer.margin_s, kernel_answer.keeps_promises) == (
        ref.ready_s, ref.margin_s, ref.keeps_promises)
    np.testing.assert_array_equal(kernel_answer.slot_status, ref.slot_status)
    np.testing.assert_array_equal(kernel_answer.slot_ready_s, ref.slot_ready_s)
    # the window the customer is shown comes from those two numbers alone, so it is the same too
    assert api.promise_window(1000.0 + kernel_answer.ready_s, kernel_answer.margin_s) == api.promise_window(
        1000.0 + ref.ready_s, ref.margin_s)


def test_learned_prep_times_plan_and_quote_as_the_reference():
    sim, plans, quotes = captured_states(wrong_scenario(seed=11, horizon_s=3600))
    configured = {mean for _, mean, _, _ in sim.p["menu"]}
    learned = [kw for kw, _ in plans if set(kw["item_prep_s"].tolist()) - configured]
    assert len(learned) >= 5, "the day should plan with learned (not configured) prep times"
    for kw in learned:
        assert_same_plan(dict(kw, station_store=np.zeros(sim.n_stations, np.int64)))
    assert len(quotes) >= 5
    for kw, new, answer in quotes:
        assert_same_quote(kw, new, answer, sim.n_stations)


def test_arrival_fired_days_plan_and_quote_as_the_reference():
    sim, plans, quotes = captured_states(arrival_scenario(share=0.6), every=7)
    assert sum(arrival_open for _, arrival_open in plans) >= 5, "states with make-it-when-I-arrive orders open"
    for kw, _ in plans:
        assert_same_plan(dict(kw, station_store=np.zeros(sim.n_stations, np.int64)))
    for kw, new, answer in quotes:
        assert_same_quote(kw, new, answer, sim.n_stations)

"""core_native.warm_up compiles (or loads) every kernel the public API calls, so that after it no
plan or quote compiles anything; and each kernel has one compiled signature (docs/SCHEDULER.md,
"Cold compile": a second signature is a second compile of everything under it)."""

import numpy as np
import pytest

import core_native
from core_native import api, warm
from tests.core_native.conftest import chain, random_store

STORE_KEYS = ("segment_station", "segment_start_s", "segment_lanes", "item_order", "item_station", "item_prep_s",
              "item_due_s", "item_prep_sd_s", "item_release_s", "item_weight", "item_just_in_time",
              "progress_item", "progress_lane", "progress_remaining_s", "handoff_s", "n_stations")


def _compile_state():
    """Per kernel: (signatures, cache loads, compiles) so far in this process."""
    return {f.py_func.__name__: (tuple(f.signatures), sum(f._cache_hits.values()), sum(f._cache_misses.values()))
            for f in warm.compiled_kernels()}


def _what_the_app_and_the_benchmark_call():
    rng = np.random.default_rng(11)
    kw = chain(rng, 4)
    api.plan(**kw, parallel=False)  # the Django bridge's re-plan
    api.plan(**kw)  # plan_batch's threads (benchmark, simulator)
    store = random_store(rng, 6)
    held = api.plan(**{k: v for k, v in store.items() if k != "n_stations"})
    store["item_held_rank"] = held.order_position[np.searchsorted(held.order_id, store["item_order"])].astype(float)
    new = dict(new_item_station=[0, 2], new_item_prep_s=[55.0, 150.0], new_item_prep_sd_s=[10.0, 20.0],
               slot_first_start_s=0.0, slot_s=300.0, slot_capacity=3, slot_orders=np.array([0, 3, 1], np.int64))
    api.quote(**store, **new)  # the Django bridge's quote: typed arrays, one compiled call
    snapshot = api.prepare_store(**{k: store[k] for k in (*STORE_KEYS, "item_held_rank")})
    snapshot.quote(**new)
    empty = dict(store, item_order=np.zeros(0, np.int64), item_station=np.zeros(0, np.int64),
                 **{k: np.zeros(0) for k in ("item_prep_s", "item_due_s", "item_prep_sd_s", "item_release_s",
                                             "item_weight", "item_held_rank", "progress_remaining_s")},
                 item_just_in_time=np.zeros(0, bool), progress_item=np.zeros(0, np.int64),
                 progress_lane=np.zeros(0, np.int64))
    api.quote(**empty, **new)  # a store with no open orders
    api.prepare_store(**{k: empty[k] for k in STORE_KEYS}).quote(**new)


def test_after_warm_up_no_plan_or_quote_compiles_or_loads_anything():
    result = core_native.warm_up()
    assert result["total"] >= len(warm.compiled_kernels()) > 10
    before = _compile_state()
    _what_the_app_and_the_benchmark_call()
    after = _compile_state()
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert changed == {}


def test_every_kernel_has_at_most_one_signature():
    core_native.warm_up()
    _what_the_app_and_the_benchmark_call()
    several = {f.py_func.__name__: [str(s) for s in f.signatures] for f in warm.compiled_kernels()
               if len(f.signatures) > warm.DTYPE_COPIES.get(f.py_func.__name__, 1)}
    assert several == {}


def test_warm_up_reports_progress_and_the_end():
    steps = []
    result = core_native.warm_up(progress=steps.append)
    assert steps[-1].done and steps[-1].compiled == result["compiled"] and steps[-1].total == result["total"]
    assert [s.compiled for s in steps[:-1]] == list(range(1, result["compiled"] + 1))


def test_cache_directory_defaults_to_the_repository(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert warm.configure_cache_dir() == str(warm.DEFAULT_CACHE_DIR)
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/tmp/elsewhere")
    assert warm.configure_cache_dir() == "/tmp/elsewhere"


@pytest.mark.parametrize("parallel", [False, True])
def test_plan_stores_plans_what_the_reference_plans(parallel):
    """The serial re-plan and plan_batch's threads run one kernel (plan_stores): the same plans."""
    kw = chain(np.random.default_rng(5), 9)
    got, want = api.plan(**kw, parallel=parallel), api.plan(**kw, use_reference=True)
    for field in ("item_lane", "item_start_s", "item_finish_s", "order_ready_s", "order_margin_s", "order_position"):
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field))

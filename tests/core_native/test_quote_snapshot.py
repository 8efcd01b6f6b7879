"""The quote fast path (prepare_store -> StoreSnapshot.quote) is the same quote, on the same instance."""

import numpy as np
import pytest
from hypothesis import given, settings

from core_native import api
from core_native._kernel_args import config_tuple, prepare

from .conftest import random_store, seeds

STORE_KEYS = ("segment_station", "segment_start_s", "segment_lanes", "item_order", "item_station", "item_prep_s",
              "item_due_s", "item_prep_sd_s", "item_release_s", "item_weight", "item_just_in_time", "progress_item",
              "progress_lane", "progress_remaining_s", "handoff_s", "n_stations")


def _concatenated_instance(kw, new):
    """The one-store instance as quote() used to build it: every array concatenated, then prepare."""
    n = len(kw["item_order"])
    k = len(new["new_item_station"])
    new_id = int(np.max(kw["item_order"])) + 1 if n else 0

    def cat(values, extra, default):
        base = np.full(n, default) if values is None else np.asarray(values, dtype=np.float64)
        return np.concatenate([base, np.broadcast_to(np.asarray(extra, dtype=np.float64), (k,))])

    jit = np.zeros(n, bool) if kw.get("item_just_in_time") is None else np.asarray(kw["item_just_in_time"], bool)
    inst, _ = prepare(
        station_store=None, segment_station=kw["segment_station"], segment_start_s=kw["segment_start_s"],
        segment_lanes=kw["segment_lanes"],
        item_order=np.concatenate([np.asarray(kw["item_order"], np.int64), np.full(k, new_id, np.int64)]),
        item_station=np.concatenate([np.asarray(kw["item_station"], np.int64), new["new_item_station"]]),
        item_prep_s=cat(kw["item_prep_s"], new["new_item_prep_s"], 0.0),
        item_due_s=cat(kw["item_due_s"], api._NEW_ORDER_DUE, 0.0),
        item_prep_sd_s=cat(kw.get("item_prep_sd_s"), new["new_item_prep_sd_s"], 0.0),
        item_release_s=cat(kw.get("item_release_s"), new.get("new_release_s", 0.0), 0.0),
        item_weight=cat(kw.get("item_weight"), new.get("new_weight", 1.0), 1.0),
        item_just_in_time=np.concatenate([jit, np.zeros(k, bool)]),
        progress_item=kw.get("progress_item"), progress_lane=kw.get("progress_lane"),
        progress_remaining_s=kw.get("progress_remaining_s"), handoff_s=kw.get("handoff_s", 0.0), n_stores=1,
        n_stations=kw.get("n_stations"))
    return inst


def _new_order(rng):
    k = int(rng.integers(1, 4))
    return dict(new_item_station=rng.integers(0, 3, k), new_item_prep_s=rng.choice([20.0, 35.0, 55.0, 150.0], k),
                new_item_prep_sd_s=rng.uniform(0, 20, k), new_release_s=float(rng.uniform(-60, 120)),
                new_weight=float(rng.choice([1.0, 2.0])))


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_snapshot_instance_is_the_concatenated_instance(seed):
    rng = np.random.default_rng(seed)
    kw = random_store(rng, zero_lane_station=False)
    kw["n_stations"] = 3
    new = _new_order(rng)
    snap = api.prepare_store(**{k: kw.get(k) for k in STORE_KEYS})
    fast = snap.instance_with(**new)
    slow = _concatenated_instance(kw, new)
    for name, a, b in zip(fast._fields, fast, slow):
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_snapshot_quotes_equal_quote_and_reference(seed):
    rng = np.random.default_rng(seed)
    kw = random_store(rng, zero_lane_station=False)
    kw["segment_lanes"] = np.maximum(kw["segment_lanes"], 1)
    kw["n_stations"] = 3
    snap = api.prepare_store(**{k: kw.get(k) for k in STORE_KEYS})
    for _ in range(3):  # one snapshot, several quotes: the snapshot is not changed by quoting
        new = _new_order(rng)
        slots = dict(slot_first_start_s=float(rng.uniform(0, 600)), slot_s=300.0, slot_capacity=3,
                     slot_orders=rng.integers(0, 4, 6), new_just_in_time=bool(rng.random() < 0.5))
        a = snap.quote(**new, **slots)
        b = api.quote(**kw, **new, **slots)
        c = snap.quote(**new, **slots, use_reference=True)
        for other in (b, c):
            assert (a.ready_s, a.margin_s, a.keeps_promises) == (other.ready_s, other.margin_s, other.keeps_promises)
            np.testing.assert_array_equal(a.slot_status, other.slot_status)
            np.testing.assert_array_equal(a.slot_ready_s, other.slot_ready_s)


def test_snapshot_rejects_bad_new_orders():
    snap = api.prepare_store(segment_station=[0], segment_start_s=[0.0], segment_lanes=[1], item_order=[3],
                             item_station=[0], item_prep_s=[30.0], item_due_s=[100.0], n_stations=2)
    assert snap.new_id == 4
    for bad in (dict(new_item_station=[], new_item_prep_s=[]), dict(new_item_station=[2], new_item_prep_s=[5.0]),
                dict(new_item_station=[0], new_item_prep_s=[0.0]), dict(new_item_station=[0], new_item_prep_s=[np.nan]),
                dict(new_item_station=[0], new_item_prep_s=[5.0], new_item_prep_sd_s=[-1.0]),
                dict(new_item_station=[0], new_item_prep_s=[5.0], new_weight=-1.0)):
        with pytest.raises(api.PlanError):
            snap.quote(**bad)


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_snapshot_base_plan_gives_the_quote_of_the_whole_kernel(seed):
    """quote_store with the snapshot's base plan answers what it answers planning the base itself."""
    from core_native import _kernels
    from core_native.config import DEFAULT_PLANNER

    rng = np.random.default_rng(seed)
    kw = random_store(rng, zero_lane_station=False)
    kw["n_stations"] = 3
    new = _new_order(rng)
    snap = api.prepare_store(**{k: kw.get(k) for k in STORE_KEYS})
    params = config_tuple(DEFAULT_PLANNER)
    known = snap.base_plan(params)
    slots = rng.integers(0, 4, 8).astype(np.int64)
    for new_jit in (False, True):
        a_status, b_status = np.zeros(8, np.int8), np.zeros(8, np.int8)
        a_ready, b_ready = np.zeros(8), np.zeros(8)
        a_pos, b_pos = np.zeros(8, np.int64), np.zeros(8, np.int64)
        a = _kernels.quote_store(snap.instance_with(**new), params, 0.0, 240.0, 3, slots, new_jit, a_status, a_ready,
                                 a_pos, False, *_kernels.no_known_base())
        b = _kernels.quote_store(snap.instance_with(**new), params, 0.0, 240.0, 3, slots, new_jit, b_status,
                                 b_ready, b_pos, True, known[0], known[1], known[2])
        assert a == b
        assert np.array_equal(a_status, b_status)
        assert np.array_equal(a_ready, b_ready)
        assert np.array_equal(a_pos, b_pos)

"""The compiled one-store layout (`_kernels.layout_one_store`, the quote's fast path) builds
`prepare`'s instance; bad input gets one message whichever path it takes (the one validator,
`_validate.check_store`, is in front of them all); api.quote in one compiled call
(`_kernels.quote_arrays`) is the snapshot's quote."""

import re

import numpy as np
import pytest
from hypothesis import given, settings

from core_native import api
from core_native._kernel_args import prepare, prepare_one_store, typed_store_arrays
from core_native._layout import PlanError
from core_native._kernels import layout_one_store

from .conftest import random_store, seeds

ARGS = ("segment_station", "segment_start_s", "segment_lanes", "item_order", "item_station", "item_prep_s",
        "item_due_s", "item_prep_sd_s", "item_release_s", "item_weight", "item_just_in_time", "item_held_rank",
        "progress_item", "progress_lane", "progress_remaining_s")


def _store(rng, n_orders=None):
    kw = random_store(rng, n_orders=int(rng.integers(0, 14)) if n_orders is None else n_orders)
    n = kw["item_order"].size
    if rng.random() < 0.6:  # a held plan: most orders ranked (ties too), some new ones not yet
        order_rank = {o: float(rng.integers(0, 6)) if rng.random() < 0.8 else np.nan for o in set(kw["item_order"])}
        kw["item_held_rank"] = np.array([order_rank[o] for o in kw["item_order"]])
    else:
        kw["item_held_rank"] = np.full(n, np.nan)
    kw.setdefault("progress_item", np.zeros(0, np.int64))
    kw.setdefault("progress_lane", np.zeros(0, np.int64))
    kw.setdefault("progress_remaining_s", np.zeros(0))
    return kw


def _compiled(kw):
    return layout_one_store(*[kw[k] for k in ARGS], float(kw["handoff_s"]), kw["n_stations"])


def _numpy(kw):
    return prepare(station_store=None, n_stores=1, **kw)[0]


def _assert_same(a, b):
    for field, x, y in zip(a._fields, a, b):
        assert x.dtype == y.dtype, field
        np.testing.assert_array_equal(x, y, err_msg=field)


@settings(max_examples=150, deadline=None)
@given(seeds)
def test_compiled_layout_is_prepares_instance(seed):
    kw = _store(np.random.default_rng(seed))
    compiled = _compiled(kw)
    assert compiled is not None
    _assert_same(compiled, _numpy(kw))


def _break(kw, rng):
    """kw with one value made bad, as a caller's bug would: (what was broken, the item if one was, kw)."""
    kw = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    n, n_prog = kw["item_order"].size, kw["progress_item"].size
    choices = ["segment_station", "segment_lanes", "segment_twice", "segment_start_nan", "handoff"]
    if n:
        choices += ["item_station", "prep_zero", "prep_inf", "sd", "weight", "release_nan", "due_nan", "rank_inf"]
    if n_prog:
        choices += ["progress_item", "progress_twice", "progress_lane", "remaining"]
    what = str(rng.choice(choices))
    i = int(rng.integers(0, max(n, 1)))
    if what == "segment_station":
        kw["segment_station"][0] = rng.choice([-1, kw["n_stations"]])
    elif what == "segment_lanes":
        kw["segment_lanes"][0] = -1
    elif what == "segment_twice":
        kw["segment_station"] = np.append(kw["segment_station"], kw["segment_station"][0])
        kw["segment_start_s"] = np.append(kw["segment_start_s"], kw["segment_start_s"][0])
        kw["segment_lanes"] = np.append(kw["segment_lanes"], 1)
    elif what == "segment_start_nan":
        kw["segment_start_s"][0] = np.nan
    elif what == "handoff":
        kw["handoff_s"] = -1.0
    elif what == "item_station":
        kw["item_station"][i] = rng.choice([-1, kw["n_stations"]])
    elif what == "prep_zero":
        kw["item_prep_s"][i] = rng.choice([0.0, -5.0])
    elif what == "prep_inf":
        kw["item_prep_s"][i] = np.inf
    elif what == "sd":
        kw["item_prep_sd_s"][i] = -1.0
    elif what == "weight":
        kw["item_weight"][i] = -1.0
    elif what == "release_nan":
        kw["item_release_s"][i] = np.nan
    elif what == "due_nan":
        kw["item_due_s"][i] = rng.choice([np.nan, np.inf])
    elif what == "rank_inf":
        kw["item_held_rank"][i] = np.inf
    elif what == "progress_item":
        kw["progress_item"][0] = rng.choice([-1, n])
    elif what == "progress_twice":
        kw["progress_item"] = np.append(kw["progress_item"], kw["progress_item"][0])
        kw["progress_lane"] = np.append(kw["progress_lane"], kw["progress_lane"][0])
        kw["progress_remaining_s"] = np.append(kw["progress_remaining_s"], 5.0)
    elif what == "progress_lane":
        kw["progress_lane"][0] = rng.choice([-1, 99])
    else:
        kw["progress_remaining_s"][0] = rng.choice([0.0, -1.0, np.nan])
    return what, i, kw


def _expected_message(what, kw, i):
    """The message PlanError gives for what `_break` broke (the messages callers have always had)."""
    n_st, n = kw["n_stations"], kw["item_order"].size
    remaining = kw["progress_remaining_s"][0] if kw["progress_remaining_s"].size else 0.0
    return {
        "segment_station": rf"segment_station\[0\] = -?\d+ is out of range \[0, {n_st}\)$",
        "segment_lanes": r"segment_lanes\[0\] is negative$",
        "segment_twice": r"station \d+ has two staffing segments starting at -?\d",
        "segment_start_nan": r"segment_start_s\[0\] is not a finite number$",
        "handoff": r"handoff_s must be >= 0$",
        "item_station": rf"item_station\[{i}\] = -?\d+ is out of range \[0, {n_st}\)$",
        "prep_zero": rf"item_prep_s\[{i}\] = -?[05]\.0 must be > 0$",
        "prep_inf": rf"item_prep_s\[{i}\] is not a finite number$",
        "sd": rf"item_prep_sd_s\[{i}\] must be >= 0$",
        "weight": rf"item_weight\[{i}\] must be >= 0$",
        "release_nan": rf"item_release_s\[{i}\] is not a finite number$",
        "due_nan": rf"item_due_s\[{i}\] is not a finite number$",
        "rank_inf": rf"item_held_rank\[{i}\] is infinite \(NaN: not in the held plan\)$",
        "progress_item": rf"progress_item\[0\] = -?\d+ is out of range \[0, {n}\)$",
        "progress_twice": r"progress_item lists an item twice$",
        "progress_lane": r"progress_lane\[0\] = -?\d+: station \d+ never has that many lanes$",
        "remaining": (r"progress_remaining_s\[0\] is not a finite number$" if np.isnan(remaining)
                      else r"progress_remaining_s\[0\] must be > 0$"),
    }[what]


@settings(max_examples=150, deadline=None)
@given(seeds)
def test_every_path_turns_bad_input_down_with_one_message(seed):
    """The one validator (`_validate.check_store`) is in front of every path: plan's NumPy layout,
    the snapshot, api.quote on typed arrays and on lists all say the same about bad input."""
    rng = np.random.default_rng(seed)
    what, i, kw = _break(_store(rng), rng)
    as_lists = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    new = dict(new_item_station=[0], new_item_prep_s=[30.0])
    calls = {"prepare": lambda: _numpy(kw), "prepare_one_store": lambda: prepare_one_store(**kw),
             "prepare_store": lambda: api.prepare_store(**kw), "quote": lambda: api.quote(**kw, **new),
             "quote (lists)": lambda: api.quote(**as_lists, **new),
             "quote (reference)": lambda: api.quote(**kw, **new, use_reference=True)}
    messages = {}
    for path, call in calls.items():
        with pytest.raises(PlanError) as got:
            call()
        messages[path] = str(got.value)
    assert len(set(messages.values())) == 1, (what, messages)
    assert re.match(_expected_message(what, kw, i), messages["prepare"]), (what, messages["prepare"])


def test_compiled_layout_refuses_station_numbers_it_would_write_outside_its_arrays_with():
    """layout_one_store assumes checked input, but compiled code has no bounds checks: the numbers
    it indexes with are checked again, so a caller who skips the validator gets an error, not a
    write outside the arrays."""
    kw = _store(np.random.default_rng(3), n_orders=3)
    kw["item_station"][0] = kw["n_stations"] + 5
    with pytest.raises(IndexError, match="unchecked input"):
        _compiled(kw)


def test_arrays_of_other_types_are_converted_to_the_same_instance():
    kw = _store(np.random.default_rng(5))
    as_lists = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    as_lists["item_prep_s"] = np.asarray(kw["item_prep_s"], np.float32).astype(np.float64)[::-1][::-1]
    _assert_same(prepare_one_store(**as_lists), _numpy(kw))
    _assert_same(prepare_one_store(**kw), _numpy(kw))
    defaults = dict(kw, item_prep_sd_s=None, item_release_s=None, item_weight=None, item_just_in_time=None,
                    item_held_rank=None, progress_item=None, progress_lane=None, progress_remaining_s=None)
    _assert_same(prepare_one_store(**defaults), _numpy(defaults))


def test_api_quote_says_what_is_wrong_through_the_fast_path():
    kw = _store(np.random.default_rng(9), n_orders=4)
    kw["item_prep_s"][0] = -3.0
    with pytest.raises(PlanError, match=r"item_prep_s\[\d+\] = -3.0 must be > 0"):
        api.quote(**kw, new_item_station=[0], new_item_prep_s=[30.0])


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_quote_in_one_call_is_the_snapshot_quote(seed):
    """api.quote on typed arrays (`_kernels.quote_arrays`) answers what the snapshot answers, held ranks too."""
    rng = np.random.default_rng(seed)
    kw = _store(rng)
    kw["segment_lanes"] = np.maximum(kw["segment_lanes"], 1)
    assert typed_store_arrays(**kw) is not None  # the one-call path is taken
    snap = api.prepare_store(**kw)
    for _ in range(2):
        k = int(rng.integers(1, 4))
        new = dict(new_item_station=rng.integers(0, 3, k).tolist(), new_item_prep_s=rng.choice([35.0, 55.0, 150.0], k),
                   new_item_prep_sd_s=rng.uniform(0, 20, k), slot_first_start_s=float(rng.uniform(0, 600)),
                   slot_s=300.0, slot_capacity=3, slot_orders=rng.integers(0, 4, 6),
                   new_just_in_time=bool(rng.random() < 0.5))
        a, b = api.quote(**kw, **new), snap.quote(**new)
        assert (a.ready_s, a.margin_s, a.keeps_promises) == (b.ready_s, b.margin_s, b.keeps_promises)
        np.testing.assert_array_equal(a.held_rank, b.held_rank)
        for field in ("slot_start_s", "slot_status", "slot_ready_s", "slot_held_rank"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


def test_bad_new_order_or_slots_get_the_validators_message_through_api_quote():
    kw = _store(np.random.default_rng(11), n_orders=3)
    for bad, message in ((dict(new_item_station=[7], new_item_prep_s=[5.0]), r"new_item_station\[0\] = 7"),
                         (dict(new_item_station=[0], new_item_prep_s=[5.0], slot_orders=[1], slot_s=0.0),
                          "slot_s must be > 0")):
        with pytest.raises(PlanError, match=message):
            api.quote(**kw, **bad)
    kw["item_due_s"][kw["item_order"] == kw["item_order"][0]] = 1e301  # (an order's due: its items' earliest)
    with pytest.raises(PlanError, match="absurdly large"):
        api.quote(**kw, new_item_station=[0], new_item_prep_s=[5.0])

"""Compile the scheduler's kernels (or load them from Numba's on-disk cache) before serving.

    from core_native import warm_up
    warm_up(progress=print_it)   # seconds taken; compiled=True on the first run of an install

The first call of a kernel compiles it (minutes on a fresh install, see docs/SCHEDULER.md, "Cold
compile"); every later process loads the cache (well under a second). A server calls this before
it says it is ready, so no customer's quote waits for the compiler. It calls every compiled entry
point the public API reaches (`api.plan`, serial and parallel; `api.quote`, whose typed input is
one compiled call; `api.prepare_store` and `StoreSnapshot.quote`) on a tiny store, with the very
argument types those functions pass, so no later call compiles anything.

The cache lives where NUMBA_CACHE_DIR says (Numba reads it when it is imported); `configure_cache_dir`
sets it to <repo>/.numba_cache unless the environment sets it, so every worker process of a
checkout shares one cache.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / ".numba_cache"
# What a cold compile took on a 2-core machine (docs/SCHEDULER.md, "Cold compile"): what the
# progress line tells someone waiting for the first run.
TYPICAL_COLD_COMPILE_S = 120


def configure_cache_dir() -> str:
    """NUMBA_CACHE_DIR, set to the shared default (<repo>/.numba_cache) unless the environment
    sets it. `import core_native` calls it, before the kernels module exists (Numba picks a
    function's cache directory when the function is defined)."""
    cache_dir = os.environ.setdefault("NUMBA_CACHE_DIR", str(DEFAULT_CACHE_DIR))
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None:  # Numba imported already: it read the environment before this
        numba_config.CACHE_DIR = cache_dir
    return cache_dir


@dataclass
class WarmUpProgress:
    """What `warm_up` reports to its progress callback (after every compiled kernel, and at the end)."""
    compiled: int  # kernels compiled so far in this call (0 while everything loads from the cache)
    total: int  # compiled copies a cold compile makes (one per kernel, DTYPE_COPIES)
    elapsed_s: float
    done: bool = False


# Kernels compiled once per array dtype by design (the rest have one signature each)
DTYPE_COPIES = {"_appended": 3}  # int64, float64 and bool arrays


def compiled_kernels() -> list:
    """The compiled functions of the scheduler (inline="always" helpers are compiled into their callers)."""
    from numba.core.registry import CPUDispatcher

    from . import _kernels

    return [f for f in vars(_kernels).values()
            if isinstance(f, CPUDispatcher) and f.targetoptions.get("inline", "never") != "always"]


def _tiny_store() -> dict:
    """One store in the dtypes the Django bridge and the benchmark pass: two stations, three
    orders (one scheduled, one item in progress), held ranks for two of them."""
    return dict(
        segment_station=np.array([0, 1, 1], np.int64), segment_start_s=np.array([-600.0, -600.0, 900.0]),
        segment_lanes=np.array([2, 1, 2], np.int64), item_order=np.array([1, 1, 2, 3], np.int64),
        item_station=np.array([0, 1, 0, 1], np.int64), item_prep_s=np.array([60.0, 45.0, 90.0, 30.0]),
        item_due_s=np.array([300.0, 300.0, 200.0, 1200.0]), item_prep_sd_s=np.array([10.0, 5.0, 20.0, 0.0]),
        item_release_s=np.zeros(4), item_weight=np.ones(4),
        item_just_in_time=np.array([False, False, False, True]),
        progress_item=np.array([0], np.int64), progress_lane=np.array([0], np.int64),
        progress_remaining_s=np.array([20.0]), item_held_rank=np.array([0.0, 0.0, 1.0, np.nan]),
        handoff_s=15.0)


def _call_every_entry_point() -> None:
    from . import api

    store = _tiny_store()
    new_order = dict(new_item_station=[0, 1], new_item_prep_s=[60.0, 30.0], new_item_prep_sd_s=[10.0, 5.0])
    slots = dict(slot_first_start_s=0.0, slot_s=300.0, slot_capacity=4, slot_orders=np.array([0, 1, 4], np.int64))
    # api.plan: the serial path (the Django bridge); plan_batch's threads run the same compiled
    # function (plan_stores) on slices of the same store list, so this compiles both
    api.plan(**store, parallel=False)
    # api.quote with typed arrays: the validator's scan (first_bad_input), then one compiled call (quote_arrays)
    api.quote(**store, **new_order, **slots, n_stations=2)
    # the snapshot route (prepare_store, then StoreSnapshot.quote): layout, base plan, quote, held ranks
    snapshot = api.prepare_store(**store, n_stations=2)
    snapshot.quote(**new_order, **slots)


def warm_up(progress: Callable[[WarmUpProgress], None] | None = None) -> dict:
    """Compile (or load from the cache) every kernel the public API calls; see the module docstring.

    `progress` gets a WarmUpProgress after each kernel that had to be compiled and once at the
    end (done=True). Returns {"seconds": ..., "compiled": kernels compiled here (0: all loaded
    from the cache), "total": ...}. Safe to call again (then it only runs the tiny calls)."""
    configure_cache_dir()
    from numba.core import event

    kernels = compiled_kernels()
    kernel_ids = {id(f) for f in kernels}
    total = sum(DTYPE_COPIES.get(f.py_func.__name__, 1) for f in kernels)  # what a cold compile makes
    started = time.perf_counter()
    compiled = 0

    class _Counter(event.Listener):
        def on_start(self, ev):
            pass

        def on_end(self, ev):
            nonlocal compiled
            if id((ev.data or {}).get("dispatcher")) in kernel_ids:
                compiled += 1
                if progress is not None:
                    progress(WarmUpProgress(compiled, total, time.perf_counter() - started))

    with event.install_listener("numba:compile", _Counter()):
        _call_every_entry_point()
    seconds = time.perf_counter() - started
    if progress is not None:
        progress(WarmUpProgress(compiled, total, seconds, done=True))
    return {"seconds": seconds, "compiled": compiled, "total": total}

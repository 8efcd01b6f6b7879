"""Benchmark: re-plan a whole chain's open orders, and quote new orders.

    python -m core_native.tools.bench [--stores 1000] [--orders 20000] [--seed 7] [--quotes 2000]
                                [--repeats 15] [--ref-repeats 3] [--from-scratch] [--json]
                                [--compare-rev REV] [--against-rev REV] [--no-cold-compile]

Builds a chain-wide backlog (see `chain_backlog`), warms the kernels up, then
measures side by side in one run:

    kernel_ms         api.plan_batch (_kernels.plan_stores on numba.get_num_threads() threads, dynamic chunks)
                      over every store, prepared arrays, all threads: median of --repeats
    kernel_1core_ms   the same with numba.set_num_threads(1) (one plan_stores call), runs interleaved with
                      the above: median
    parallel_speedup  median over the interleaved pairs of (1-thread time / all-thread time)
    kernel_min_ms, kernel_1core_min_ms  the fastest of those runs (less sensitive to a loaded machine)
    plan_call_ms      api.plan end to end (validation + array building + kernels), median of --repeats
    serial_call_ms    api.plan(parallel=False) end to end (what the Django side calls), median
    reference_ms      the pure-Python reference on the same prepared arrays, full input: median of --ref-repeats
    speedup           reference / one-thread kernel, one core against one core: each reference run sits
                      between two one-thread kernel runs; median of those ratios
    orders_per_s      orders / kernel_1core_ms
    quote_us_p50/p99  api.quote(**store arrays, ...) end to end, one new order (1-3 items) at a random
                      store of the backlog, 12 pickup slots; timed per call with perf_counter_ns after
                      warm-up quotes; GC left on (as in production)
    quote_snapshot_us_p50/p99  the same quotes through the fast path: api.prepare_store(...) once per
                      store state (not timed: it happens when the state changes), snapshot.quote(...)
                      timed per call
    quote_kernel_us_p50/p99    the kernel alone (_kernels.quote_store on the prepared instance, base plan from the
                      snapshot; it places the trials' prefix plan itself, which the snapshot path keeps)
    prepare_store_us_p50       api.prepare_store for the quoted stores (the cost moved off the quote)
    quote_tardy_share          share of quotes at stores whose plan is tardy (the improvement pass runs)
    quote_snapshot_us_p99_on_time_stores / _p50_tardy_stores: the fast path split by that (where the tail is)
    peak_rss_mb       peak resident memory of the measuring process
    warm_up_s, compile_peak_rss_mb  before measuring, a child process runs a tiny chain through every
                      timed path, so the kernels are compiled into Numba's on-disk cache (or found there).
                      Compiling takes minutes and LLVM's peak memory (about 800 MB) once per install;
                      a service loads the cache, so that is not the memory a re-plan needs. Both are
                      printed for what they are: the child's time and peak memory.
    load_avg          1-minute load average before and after the run (the machine is shared); with
                      --against-rev a third, after that comparison
    cold_compile_s    a child process with a fresh, empty NUMBA_CACHE_DIR runs the tiny chain above (every
                      kernel the Django app and this benchmark call: api.plan serial and parallel, api.quote's
                      one compiled call, the snapshot path, the kernel quote): its wall time from before
                      `import core_native` to the end, so nearly all of it is compiling. cold_compile_cpu_s:
                      its CPU time (steadier on a shared machine). warm_run_s: the same child again on the
                      now warm cache (what is not compiling). warm_up_load_s: core_native.warm_up() in a
                      fresh process on that warm cache (what a server waits for at start).
    --compare-rev REV the same cold compile, one after the other in this run, for the package as it is at git
                      revision REV (extracted to a temporary directory): cold_compile_s_REV,
                      cold_compile_cpu_s_REV, warm_run_s_REV; compile_speedup = REV's / this one's wall time
    --against-rev REV the re-plan and the quote of this package against those of core_native at git revision
                      REV (extracted once to <tmp>/core-native-tree-<tree>, with its own Numba cache: the
                      first run compiles it), on the same backlog and quotes, after the figures above: two
                      child processes on one thread each take turns for --repeats rounds (`against_revision`).
                      replan_1core_ms_this / _rev: the chain re-planned on one core (api.plan_batch, as
                      kernel_1core_ms), median; quote_us_p50_this / _rev: api.quote's p50 (as quote_us_p50);
                      replan_this_over_rev, quote_this_over_rev: the medians of each round's ratio this / REV;
                      against_differing: the plan outputs and quote answers that differ between the two
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .._cli import print_figures

# (station, mean prep s, cv, share of items): the same menu as shared/scenarios
MENU = (
    (0, 35.0, 0.20, 0.08), (0, 55.0, 0.25, 0.26), (0, 60.0, 0.25, 0.14), (0, 50.0, 0.20, 0.08),
    (1, 45.0, 0.30, 0.12), (1, 95.0, 0.35, 0.08), (1, 20.0, 0.20, 0.08),
    (2, 150.0, 0.15, 0.08), (2, 240.0, 0.20, 0.08),
)


def chain_backlog(n_stores: int, n_orders: int, seed: int = 7, held: bool = True) -> dict:
    """A realistic snapshot of a chain's open orders, as plan() keyword arguments.

    Every store has three stations (espresso 2-3 lanes, cold 1-2, oven 2-3);
    a third of the stores change staffing within the next hour. Store sizes
    vary (gamma-distributed: a few busy stores, many quiet ones). Orders hold
    1-6 items from the scenario menu, and a store's first items are already
    in progress. About 20% are scheduled pickups 10-60 minutes out (made just
    in time). ASAP orders carry the promise a planner would have made: the
    first-come-first-served plan's ready time plus its safety margin plus up
    to two minutes; in one store out of ten the kitchen has fallen behind and
    promises are 0-30% too early, so those stores are tardy and need the
    improvement pass.

    `held`: every store has the held plan the last re-plan left (each order's
    place in a plan of this very state, as item_held_rank), as the Django
    bridge and the simulator always pass; False: no held plans (every store
    planned from scratch, by due).
    """
    rng = np.random.default_rng(seed)
    lanes = np.stack([rng.integers(2, 4, n_stores), rng.integers(1, 3, n_stores), rng.integers(2, 4, n_stores)], 1)
    station_store = np.repeat(np.arange(n_stores), 3)
    seg_station, seg_start, seg_lanes = [], [], []
    changes = rng.random(n_stores) < 1 / 3
    change_at = rng.uniform(300, 3600, n_stores)
    for s in range(n_stores):
        for k in range(3):
            st = 3 * s + k
            seg_station.append(st)
            seg_start.append(-3600.0)
            seg_lanes.append(int(lanes[s, k]))
            if changes[s]:
                seg_station.append(st)
                seg_start.append(float(change_at[s]))
                seg_lanes.append(int(max(1, lanes[s, k] + rng.choice((-1, 1)))))

    # orders per store: gamma-distributed load, every store at least one order
    load = rng.gamma(2.0, 1.0, n_stores)
    per_store = 1 + rng.multinomial(n_orders - n_stores, load / load.sum())

    menu_share = np.array([m[3] for m in MENU])
    menu_share /= menu_share.sum()
    cols = {k: [] for k in ("order", "station", "prep", "sd", "release", "due", "weight", "jit")}
    p_item, p_lane, p_rem = [], [], []
    order_id = 0
    for s in range(n_stores):
        running = np.zeros(3, np.int64)  # lanes already holding a running item
        for _ in range(per_store[s]):
            k = min(6, 1 + rng.poisson(0.7))
            picks = rng.choice(len(MENU), size=k, p=menu_share)
            scheduled = rng.random() < 0.2
            work = np.zeros(3)
            for m in picks:
                work[MENU[m][0]] += MENU[m][1]
            # ASAP orders: provisional due = arrival rank, so the plan below is first come first served
            due = rng.uniform(600, 3600) if scheduled else 1e7 + order_id
            weight = 2.0 if rng.random() < 0.1 else 1.0
            for m in picks:
                station, prep, cv, _ = MENU[m]
                item_index = len(cols["order"])
                cols["order"].append(order_id)
                cols["station"].append(3 * s + station)
                cols["prep"].append(prep)
                cols["sd"].append(prep * cv)
                cols["release"].append(0.0)
                cols["due"].append(due)
                cols["weight"].append(weight)
                cols["jit"].append(scheduled)
                if not scheduled and running[station] < min(lanes[s, station], 1 + rng.integers(0, 2)):
                    p_item.append(item_index)
                    p_lane.append(int(running[station]))
                    p_rem.append(float(rng.uniform(0.1, 1.0) * prep))
                    running[station] += 1
            order_id += 1
    kw = dict(
        station_store=station_store, segment_station=np.asarray(seg_station, np.int64),
        segment_start_s=np.asarray(seg_start), segment_lanes=np.asarray(seg_lanes, np.int64),
        item_order=np.asarray(cols["order"], np.int64), item_station=np.asarray(cols["station"], np.int64),
        item_prep_s=np.asarray(cols["prep"]), item_prep_sd_s=np.asarray(cols["sd"]),
        item_release_s=np.asarray(cols["release"]), item_due_s=np.asarray(cols["due"]),
        item_weight=np.asarray(cols["weight"]), item_just_in_time=np.asarray(cols["jit"], bool),
        progress_item=np.asarray(p_item, np.int64), progress_lane=np.asarray(p_lane, np.int64),
        progress_remaining_s=np.asarray(p_rem), handoff_s=15.0, n_stores=n_stores)
    from .. import api

    fcfs = api.plan(**kw)
    order_due = fcfs.order_ready_s + fcfs.order_margin_s + rng.uniform(0, 120, fcfs.order_id.size)
    behind = rng.random(n_stores) < 0.1
    late_store = behind[fcfs.order_store]
    order_due[late_store] = fcfs.order_ready_s[late_store] * rng.uniform(0.7, 1.0, int(late_store.sum()))
    asap = ~kw["item_just_in_time"]
    item_order_index = np.searchsorted(fcfs.order_id, kw["item_order"])
    kw["item_due_s"] = np.where(asap, order_due[item_order_index], kw["item_due_s"])
    if held:
        last = api.plan(**kw)
        kw["item_held_rank"] = last.order_position[np.searchsorted(last.order_id, kw["item_order"])].astype(float)
    return kw


def store_slice(kw: dict, store: int) -> dict:
    """One store of a chain backlog, as quote() arguments (stations renumbered 0..)."""
    st = np.flatnonzero(kw["station_store"] == store)
    st_map = {int(x): i for i, x in enumerate(st)}
    items = np.flatnonzero(np.isin(kw["item_station"], st))
    item_map = {int(x): i for i, x in enumerate(items)}
    segs = np.flatnonzero(np.isin(kw["segment_station"], st))
    prog = np.flatnonzero(np.isin(kw["progress_item"], items))
    return dict(
        segment_station=np.asarray([st_map[int(x)] for x in kw["segment_station"][segs]], np.int64),
        segment_start_s=kw["segment_start_s"][segs], segment_lanes=kw["segment_lanes"][segs],
        item_order=kw["item_order"][items], item_station=np.asarray([st_map[int(x)] for x in kw["item_station"][items]],
                                                                     np.int64),
        item_prep_s=kw["item_prep_s"][items], item_prep_sd_s=kw["item_prep_sd_s"][items],
        item_release_s=kw["item_release_s"][items], item_due_s=kw["item_due_s"][items],
        item_weight=kw["item_weight"][items], item_just_in_time=kw["item_just_in_time"][items],
        progress_item=np.asarray([item_map[int(x)] for x in kw["progress_item"][prog]], np.int64),
        progress_lane=kw["progress_lane"][prog], progress_remaining_s=kw["progress_remaining_s"][prog],
        item_held_rank=kw["item_held_rank"][items] if "item_held_rank" in kw else None,
        handoff_s=15.0, n_stations=len(st))


def plan_arrays(kw: dict) -> dict:
    """The chain backlog's arrays that _kernel_args.prepare takes."""
    return {k: kw.get(k) for k in (
        "station_store", "segment_station", "segment_start_s", "segment_lanes", "item_order", "item_station",
        "item_prep_s", "item_due_s", "item_prep_sd_s", "item_release_s", "item_weight", "item_just_in_time",
        "progress_item", "progress_lane", "progress_remaining_s", "item_held_rank", "handoff_s", "n_stores")}


def quote_workload(kw: dict, n_stores: int, n_quotes: int, seed: int):
    """The quotes the benchmark times: one new order (1-3 items) at a random store of the backlog, judging 12
    five-minute slots. (stores quoted, {store: store_slice}, [(store, quote() arguments of the new order)])."""
    rng = np.random.default_rng(seed + 1)
    stores = rng.integers(0, n_stores, n_quotes)
    slices = {int(s): store_slice(kw, int(s)) for s in np.unique(stores)}
    quotes = []
    for s in stores:
        k = int(rng.integers(1, 4))
        picks = rng.choice(len(MENU), size=k)
        quotes.append((int(s), dict(new_item_station=[MENU[m][0] for m in picks],
                                    new_item_prep_s=[MENU[m][1] for m in picks],
                                    new_item_prep_sd_s=[MENU[m][1] * MENU[m][2] for m in picks],
                                    slot_first_start_s=0.0, slot_s=300.0, slot_capacity=10,
                                    slot_orders=rng.integers(0, 12, 12))))
    return stores, slices, quotes


def _timed(fn):
    """(fn(), its wall time in ns): for calls of milliseconds (the quotes, ~100 us each, are
    timed inline so that no wrapper enters their figures)."""
    t = time.perf_counter_ns()
    result = fn()
    return result, time.perf_counter_ns() - t


def _median_ms(fn, repeats):
    return float(np.median([_timed(fn)[1] for _ in range(repeats)])) / 1e6


def _pct_us(ns, q):
    return round(float(np.percentile(ns, q)) / 1e3, 1)


def run(n_stores=1000, n_orders=20000, seed=7, n_quotes=2000, repeats=15, ref_repeats=3, held=True) -> dict:
    import os

    import numba

    from .. import _kernels, api, reference
    from .._kernel_args import config_tuple, prepare
    from ..config import DEFAULT_PLANNER

    load_before = os.getloadavg()[0]
    kw = chain_backlog(n_stores, n_orders, seed, held)
    inst, _ = prepare(**plan_arrays(kw))
    params = config_tuple(DEFAULT_PLANNER)
    n_items, n_ord = inst.item_prep_s.size, inst.order_due_s.size

    def outputs():
        return (np.full(n_items, -1, np.int64), np.full(n_items, np.inf), np.full(n_items, np.inf),
                np.full(n_ord, np.inf), np.zeros(n_ord), np.zeros(n_ord, np.int64))

    all_threads = numba.get_num_threads()
    out, out1 = outputs(), outputs()
    api.plan_batch(inst, params, *out)  # warm-up (compiles or loads the cache)
    # one thread and all threads alternately, so both see the same machine load. After a parallel
    # run the idle OpenMP worker spins for some milliseconds (libgomp's default spin count) before
    # it sleeps; on a 2-core machine that steals the core a following one-thread run needs (it
    # measured 28 ms instead of 20), so every run starts after a short untimed pause.
    t_all, t_one = [], []
    for _ in range(repeats):
        time.sleep(0.03)
        numba.set_num_threads(1)
        t_one.append(_timed(lambda: api.plan_batch(inst, params, *out1))[1])
        numba.set_num_threads(all_threads)
        time.sleep(0.03)
        t_all.append(_timed(lambda: api.plan_batch(inst, params, *out))[1])
    t_all, t_one = np.asarray(t_all, float), np.asarray(t_one, float)
    kernel_ms = float(np.median(t_all)) / 1e6
    kernel_1core_ms = float(np.median(t_one)) / 1e6
    parallel_speedup = float(np.median(t_one / t_all))
    time.sleep(0.03)
    api.plan(**kw)
    plan_call_ms = _median_ms(lambda: api.plan(**kw), max(3, repeats // 3))
    serial_call_ms = _median_ms(lambda: api.plan(**kw, parallel=False), max(3, repeats // 3))

    # The reference, each run between two one-thread kernel runs: this shared machine's speed drifts
    # by tens of percent within minutes, so the speedup is the median of ratios taken side by side,
    # not a ratio of figures taken at different moments.
    numba.set_num_threads(1)
    ref_ns, ref_ratios = [], []
    for _ in range(ref_repeats):
        time.sleep(0.03)
        _, kernel_before = _timed(lambda: api.plan_batch(inst, params, *out1))
        ref, ref_time = _timed(lambda: reference.plan(inst, params))
        _, kernel_after = _timed(lambda: api.plan_batch(inst, params, *out1))
        ref_ns.append(ref_time)
        ref_ratios.append(ref_time / ((kernel_before + kernel_after) / 2))
    numba.set_num_threads(all_threads)
    reference_ms = float(np.median(ref_ns)) / 1e6
    identical = all(np.array_equal(np.asarray(r), o) and np.array_equal(np.asarray(r), o1)
                    for r, o, o1 in zip(ref, out1, out))
    store_tardy = np.zeros(n_stores, bool)
    order_store = np.searchsorted(inst.store_order_start, np.arange(n_ord), side="right") - 1
    store_tardy[order_store[out1[3] > inst.order_due_s + 1e-6]] = True

    stores, slices, quotes = quote_workload(kw, n_stores, n_quotes, seed)
    prep_ns = []
    snapshots = {}
    for s, sl in slices.items():
        t = time.perf_counter_ns()
        snapshots[s] = api.prepare_store(**sl)
        prep_ns.append(time.perf_counter_ns() - t)
    for s, new in quotes[:20]:  # warm-up: kernels compiled or loaded, caches warm
        api.quote(**slices[s], **new)
        snapshots[s].quote(**new)
    # The fixtures (a 20k-order chain as Python objects, 600+ snapshots) are the benchmark's, not a
    # server's: freeze them out of the cyclic collector so the quotes' collections do not walk them.
    gc.collect()
    gc.freeze()
    lat = np.empty(n_quotes)
    lat_snap = np.empty(n_quotes)
    lat_kernel = np.empty(n_quotes)
    for i, (s, new) in enumerate(quotes):
        t = time.perf_counter_ns()
        a = api.quote(**slices[s], **new)
        lat[i] = time.perf_counter_ns() - t
        t = time.perf_counter_ns()
        b = snapshots[s].quote(**new)
        lat_snap[i] = time.perf_counter_ns() - t
        q_inst = snapshots[s].instance_with(new["new_item_station"], new["new_item_prep_s"], new["new_item_prep_sd_s"])
        status, slot_ready, slot_position = np.zeros(12, np.int8), np.zeros(12), np.zeros(12, np.int64)
        slots = np.asarray(new["slot_orders"], np.int64)
        t = time.perf_counter_ns()
        known = snapshots[s].base_plan(params)  # computed by prepare_store, untimed like it
        _kernels.quote_store(q_inst, params, 0.0, 300.0, 10, slots, False, status, slot_ready, slot_position, True,
                             known[0], known[1], known[2])
        lat_kernel[i] = time.perf_counter_ns() - t
        if i % 97 == 0:  # the fast path answers exactly what the full call answers
            identical &= (a.ready_s, a.margin_s, a.keeps_promises) == (b.ready_s, b.margin_s, b.keeps_promises)
            identical &= bool(np.array_equal(a.slot_status, b.slot_status))
            identical &= bool(np.array_equal(a.slot_ready_s, b.slot_ready_s))
    gc.unfreeze()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return dict(
        held_plans=held, stores=n_stores, orders=n_ord, items=n_items, threads=all_threads, repeats=repeats, ref_repeats=ref_repeats,
        kernel_ms=round(kernel_ms, 3), kernel_1core_ms=round(kernel_1core_ms, 3),
        kernel_min_ms=round(float(t_all.min()) / 1e6, 3), kernel_1core_min_ms=round(float(t_one.min()) / 1e6, 3),
        plan_call_ms=round(plan_call_ms, 3),
        serial_call_ms=round(serial_call_ms, 3),
        reference_ms=round(reference_ms, 1), speedup=round(float(np.median(ref_ratios)), 1),
        orders_per_s=round(n_ord / (kernel_1core_ms / 1e3)),
        quote_us_p50=_pct_us(lat, 50), quote_us_p99=_pct_us(lat, 99),
        quote_snapshot_us_p50=_pct_us(lat_snap, 50), quote_snapshot_us_p99=_pct_us(lat_snap, 99),
        quote_kernel_us_p50=_pct_us(lat_kernel, 50), quote_kernel_us_p99=_pct_us(lat_kernel, 99),
        prepare_store_us_p50=_pct_us(prep_ns, 50),
        quote_tardy_share=round(float(np.mean(store_tardy[stores])), 3),
        quote_snapshot_us_p99_on_time_stores=_pct_us(lat_snap[~store_tardy[stores]], 99),
        quote_snapshot_us_p50_tardy_stores=(_pct_us(lat_snap[store_tardy[stores]], 50)
                                            if store_tardy[stores].any() else None),
        parallel_speedup=round(parallel_speedup, 2), peak_rss_mb=round(peak_rss_mb, 1),
        kernel_equals_reference=bool(identical),
        tardy_orders=int(np.sum(out1[3] > inst.order_due_s + 1e-6)),
        load_avg=[round(load_before, 2), round(os.getloadavg()[0], 2)],
    )


# The cold-compile workload: the tiny chain of warm_kernel_cache, timed inside the child from before
# the package is imported. Only `bench.run` is used, so it runs against older revisions as well.
_COMPILE_WORKLOAD = """
import json, resource, time
started, cpu = time.perf_counter(), time.process_time()
try:
    from core_native.tools.bench import run
except ImportError:  # a revision from before core_native.tools
    from core_native.bench import run
run(8, 120, n_quotes=40, repeats=1, ref_repeats=1)
print(json.dumps({"s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""
_WARM_UP_LOAD = """
import json, time
started = time.perf_counter()
import core_native
result = core_native.warm_up()
print(json.dumps({"s": time.perf_counter() - started, "compiled": result["compiled"]}))
"""


def _child(code: str, package_root: Path, cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    proc = subprocess.run([sys.executable, "-c", code], cwd=package_root, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"compile child failed in {package_root}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cold_compile(package_root: Path | None = None, warm_up_load: bool = True) -> dict:
    """Compile every kernel the app and the benchmark use into a fresh, empty cache directory (a child
    process, so nothing of this process's Numba state helps), then run the same again on that cache.
    `package_root`: the directory holding the core_native package to measure (default: this one)."""
    root = package_root or Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache_dir:
        cold = _child(_COMPILE_WORKLOAD, root, cache_dir)
        warm = _child(_COMPILE_WORKLOAD, root, cache_dir)
        out = dict(cold_compile_s=round(cold["s"], 1), cold_compile_cpu_s=round(cold["cpu_s"], 1),
                   cold_compile_peak_rss_mb=round(cold["peak_rss_mb"], 1), warm_run_s=round(warm["s"], 2))
        if warm_up_load:
            out["warm_up_load_s"] = round(_child(_WARM_UP_LOAD, root, cache_dir)["s"], 2)
    return out


def cold_compile_of_revision(rev: str) -> dict:
    """cold_compile for core_native as it is at git revision `rev` (extracted next to nothing else)."""
    repo = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="core-native-rev-") as tmp:
        archive = subprocess.run(["git", "archive", rev, "core_native"], cwd=repo, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        return cold_compile(Path(tmp), warm_up_load=False)


# --against-rev: one package's side of the re-plan and quote comparison, in a child process started in the
# directory that holds that package (so `import core_native` is that one). It loads the shared workload, warms
# up, says it is ready (with a digest of each plan output and quote answer), then answers "plan N" (N one-thread
# re-plans of the chain) and "quote" (every quote of the workload through api.quote) with the wall times in ns,
# one JSON line each. Only names that 1aa0d3c's package has as well are used.
_AGAINST_WORKER = """
import gc, hashlib, json, pickle, sys, time
import numpy as np
from core_native import api
from core_native._kernel_args import config_tuple, prepare
from core_native.config import DEFAULT_PLANNER

with open(sys.argv[1], "rb") as f:
    arrays, quotes, slices = pickle.load(f)
inst, _ = prepare(**arrays)
params = config_tuple(DEFAULT_PLANNER)
n_items, n_orders = inst.item_prep_s.size, inst.order_due_s.size
out = (np.full(n_items, -1, np.int64), np.full(n_items, np.inf), np.full(n_items, np.inf),
       np.full(n_orders, np.inf), np.zeros(n_orders), np.zeros(n_orders, np.int64))


def replan_ns():
    started = time.perf_counter_ns()
    api.plan_batch(inst, params, *out)
    return time.perf_counter_ns() - started


def quote_ns():
    ns = []
    for s, new in quotes:
        started = time.perf_counter_ns()
        api.quote(**slices[s], **new)
        ns.append(time.perf_counter_ns() - started)
    return ns


replan_ns()
answers = [api.quote(**slices[s], **new) for s, new in quotes]
gc.collect()
gc.freeze()  # the workload's objects, as in run()
digests = {f"plan.{name}": hashlib.sha1(a.tobytes()).hexdigest()
           for name, a in zip(("lane", "start", "finish", "ready", "margin", "position"), out)}
for name in ("ready_s", "margin_s", "slot_status"):
    digests[f"quote.{name}"] = hashlib.sha1(np.asarray([getattr(a, name) for a in answers]).tobytes()).hexdigest()
print(json.dumps(digests), flush=True)
for line in sys.stdin:
    what, *count = line.split()
    print(json.dumps([replan_ns() for _ in range(int(count[0]))] if what == "plan" else quote_ns()), flush=True)
"""


class _AgainstWorker:
    """A running _AGAINST_WORKER: ask() sends one request and returns its answer."""

    def __init__(self, package_root: Path, workload: Path, cache_dir: str):
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, NUMBA_NUM_THREADS="1")  # one core, like kernel_1core_ms
        self.proc = subprocess.Popen([sys.executable, "-c", _AGAINST_WORKER, str(workload)], cwd=package_root,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def _answer(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"--against-rev worker in {self.proc.args} ended with code {self.proc.wait()}")
        return json.loads(line)

    def ready(self) -> dict:
        return self._answer()

    def ask(self, request: str) -> list:
        self.proc.stdin.write(request + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self):
        """End of input ends the worker; one that failed has ended already."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait()


def revision_package(rev: str) -> Path:
    """core_native as it is at git revision `rev`, extracted once into a directory named after its tree and
    kept (with its Numba cache in <dir>/.numba_cache), so only the first comparison with a revision compiles
    its kernels (minutes). git archive stamps files with the commit's time, so the cache stays valid."""
    repo = Path(__file__).resolve().parents[2]
    tree = subprocess.run(["git", "rev-parse", f"{rev}:core_native"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()
    root = Path(tempfile.gettempdir()) / f"core-native-tree-{tree[:12]}"
    if not (root / "core_native").is_dir():
        staging = Path(tempfile.mkdtemp(prefix="core-native-extract-"))
        archive = subprocess.run(["git", "archive", rev, "core_native"], cwd=repo, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(staging)], input=archive.stdout, check=True)
        try:
            staging.rename(root)
        except OSError:  # another run extracted it first
            shutil.rmtree(staging)
    return root


def against_revision(rev: str, n_stores: int, n_orders: int, seed: int, n_quotes: int, rounds: int = 15,
                     plans_per_round: int = 5) -> dict:
    """This core_native's re-plan (kernel, one core) and quote (api.quote p50) against git revision `rev`'s, on
    the same chain backlog and quotes, in one run: two child processes, one per package, take turns (each
    round: both re-plan `plans_per_round` times, then both run every quote; who goes first alternates). The
    ratios this / rev are medians over the rounds of each round's ratio, so a drift of the machine's speed
    over the run falls on both sides alike. `against_differing`: the plan outputs and quote answers in which
    the two packages differ (none: the same plans and quotes; a tunable changed since REV shows here)."""
    kw = chain_backlog(n_stores, n_orders, seed)
    _, slices, quotes = quote_workload(kw, n_stores, n_quotes, seed)
    with tempfile.TemporaryDirectory(prefix="bench-against-") as tmp:
        workload = Path(tmp) / "workload.pickle"
        workload.write_bytes(pickle.dumps((plan_arrays(kw), quotes, slices)))
        old_root = revision_package(rev)
        if not any((old_root / ".numba_cache").glob("**/*.nbi")):
            print(f"--against-rev: compiling {rev}'s kernels into {old_root}/.numba_cache (first time: minutes)",
                  file=sys.stderr)
        this = _AgainstWorker(Path(__file__).resolve().parents[2], workload, os.environ["NUMBA_CACHE_DIR"])
        old = _AgainstWorker(old_root, workload, str(old_root / ".numba_cache"))
        try:  # both start (and compile, if they must) at once; they take turns only once both are ready
            this_digests, old_digests = this.ready(), old.ready()
            differing = sorted(name for name in this_digests if this_digests[name] != old_digests.get(name))
            plan_ms, quote_us = {this: [], old: []}, {this: [], old: []}
            for r in range(rounds):
                turns = (this, old) if r % 2 == 0 else (old, this)
                for worker in turns:
                    plan_ms[worker].append(float(np.median(worker.ask(f"plan {plans_per_round}"))) / 1e6)
                for worker in turns:
                    quote_us[worker].append(float(np.median(worker.ask("quote"))) / 1e3)
        finally:
            this.close()
            old.close()

    def ratio(figures):
        return round(float(np.median(np.asarray(figures[this]) / np.asarray(figures[old]))), 3)

    return dict(
        against_rev=rev, against_rounds=rounds,
        replan_1core_ms_this=round(float(np.median(plan_ms[this])), 3),
        replan_1core_ms_rev=round(float(np.median(plan_ms[old])), 3), replan_this_over_rev=ratio(plan_ms),
        quote_us_p50_this=round(float(np.median(quote_us[this])), 1),
        quote_us_p50_rev=round(float(np.median(quote_us[old])), 1), quote_this_over_rev=ratio(quote_us),
        against_differing=differing,
    )


def warm_kernel_cache() -> tuple[float, float]:
    """Run a tiny chain through every timed path in a child process (see warm_up_s in the docstring)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from core_native.tools.bench import run; run(8, 120, n_quotes=40, repeats=1, ref_repeats=1)"],
                   cwd=Path(__file__).resolve().parents[2], check=True)
    return time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core_native.tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quotes", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=15, help="timed kernel runs (medians are reported)")
    parser.add_argument("--ref-repeats", type=int, default=3, help="timed reference runs (median)")
    parser.add_argument("--from-scratch", action="store_true",
                        help="no held plans: every store planned by due from scratch (the planner before held plans)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--compare-rev", metavar="REV",
                        help="also measure the cold compile of core_native at this git revision, in this run")
    parser.add_argument("--against-rev", metavar="REV",
                        help="also time the re-plan and the quote of core_native at this git revision against this "
                             "one's, interleaved in this run (the same backlog and quotes): the ratios this / REV")
    parser.add_argument("--no-cold-compile", action="store_true",
                        help="skip the cold-compile measurement (minutes on a 2-core machine)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.stores < 1 or args.orders < args.stores or args.quotes < 1 or args.repeats < 1 or args.ref_repeats < 1:
        print("error: need --stores >= 1, --orders >= --stores, --quotes >= 1, --repeats >= 1 and --ref-repeats >= 1",
              file=sys.stderr)
        return 2
    compile_figures = {}
    if not args.no_cold_compile:  # first, while nothing else of this run loads the machine
        compile_figures = cold_compile()
        if args.compare_rev:
            before = cold_compile_of_revision(args.compare_rev)
            compile_figures.update({f"{k}_{args.compare_rev}": v for k, v in before.items()})
            compile_figures["compile_speedup"] = round(before["cold_compile_s"] / compile_figures["cold_compile_s"], 2)
    warm_up_s, compile_peak_rss_mb = warm_kernel_cache()
    result = run(args.stores, args.orders, args.seed, args.quotes, args.repeats, args.ref_repeats,
                 held=not args.from_scratch)
    result.update(warm_up_s=round(warm_up_s, 1), compile_peak_rss_mb=round(compile_peak_rss_mb, 1), **compile_figures)
    if args.against_rev:
        result.update(against_revision(args.against_rev, args.stores, args.orders, args.seed, args.quotes,
                                       rounds=args.repeats))
        result["load_avg"].append(round(os.getloadavg()[0], 2))
    print_figures(result, as_json=args.json, width=24)
    return 0


if __name__ == "__main__":
    sys.exit(main())

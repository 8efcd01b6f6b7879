"""Shared helpers for the scheduler tests: random store instances (no Django needed)."""

import numpy as np
import pytest
from hypothesis import strategies as st

MENU_STATIONS = 3


def random_store(rng, n_orders=None, *, staffing_change=True, in_progress=True, jit=True, max_lanes=3,
                 zero_lane_station=False):
    """plan() keyword arguments of one random store, times in seconds from now."""
    n_orders = int(rng.integers(1, 12)) if n_orders is None else n_orders
    seg_station, seg_start, seg_lanes = [], [], []
    for s in range(MENU_STATIONS):
        seg_station.append(s)
        seg_start.append(float(rng.choice([-600.0, 0.0, 30.0])))
        lanes = 0 if (zero_lane_station and s == 2) else int(rng.integers(1, max_lanes + 1))
        seg_lanes.append(lanes)
        if staffing_change and rng.random() < 0.6:
            seg_station.append(s)
            seg_start.append(float(rng.uniform(60, 900)))
            seg_lanes.append(0 if (zero_lane_station and s == 2) else int(rng.integers(0, max_lanes + 1)))
    item_order, item_station, prep, sd, release, due, weight, just_in_time = ([] for _ in range(8))
    for o in range(n_orders):
        k = int(rng.integers(1, 4))
        d = float(rng.choice([300.0, 600.0, rng.uniform(-60, 1500)]))  # repeated values: equal due times
        w = float(rng.choice([1.0, 2.0]))
        j = bool(jit and rng.random() < 0.25)
        r = float(rng.choice([0.0, 0.0, rng.uniform(-30, 400)]))
        for _ in range(k):
            item_order.append(10 * o + 3)
            item_station.append(int(rng.integers(0, MENU_STATIONS)))
            p = float(rng.choice([35.0, 55.0, 60.0, 95.0, 150.0, 240.0]))
            prep.append(p)
            sd.append(p * float(rng.choice([0.0, 0.2, 0.35])))
            release.append(r)
            due.append(d)
            weight.append(w)
            just_in_time.append(j)
    kw = dict(
        segment_station=np.asarray(seg_station, np.int64), segment_start_s=np.asarray(seg_start),
        segment_lanes=np.asarray(seg_lanes, np.int64), item_order=np.asarray(item_order, np.int64),
        item_station=np.asarray(item_station, np.int64), item_prep_s=np.asarray(prep),
        item_prep_sd_s=np.asarray(sd), item_release_s=np.asarray(release), item_due_s=np.asarray(due),
        item_weight=np.asarray(weight), item_just_in_time=np.asarray(just_in_time, bool),
        handoff_s=float(rng.choice([0.0, 15.0])), n_stations=MENU_STATIONS)
    if in_progress:
        most = {}
        for s, c in zip(seg_station, seg_lanes):
            most[s] = max(most.get(s, 0), c)
        used, p_item, p_lane, p_rem = set(), [], [], []
        for i in range(len(item_order)):
            s = item_station[i]
            if rng.random() < 0.25 and most[s] > 0:
                lane = int(rng.integers(0, most[s]))
                if (s, lane) not in used:
                    used.add((s, lane))
                    p_item.append(i)
                    p_lane.append(lane)
                    p_rem.append(float(rng.uniform(1, prep[i])))
        kw.update(progress_item=np.asarray(p_item, np.int64), progress_lane=np.asarray(p_lane, np.int64),
                  progress_remaining_s=np.asarray(p_rem))
    return kw


def bunched_store(rng):
    """quote() keyword arguments of a store whose pickup slots (600 s wide, starting at 600 and
    1200) already hold many just-in-time orders, all due at the slot's start or a little later
    (promises moved inside the window), plus a few ASAP orders: the slot bunching case."""
    lanes = [int(rng.integers(1, 4)), int(rng.integers(1, 3))]
    item_order, item_station, prep, sd, due, jit = ([] for _ in range(6))
    n_orders = int(rng.integers(3, 16))
    for o in range(n_orders):
        scheduled = rng.random() < 0.8
        d = float(rng.choice([600.0, 600.0, 660.0, 1200.0, 1320.0])) if scheduled else float(rng.uniform(60, 500))
        for _ in range(int(rng.integers(1, 4))):
            item_order.append(o)
            item_station.append(int(rng.integers(0, 2)))
            p = float(rng.choice([35.0, 55.0, 95.0]))
            prep.append(p)
            sd.append(p * float(rng.choice([0.0, 0.25])))
            due.append(d)
            jit.append(scheduled)
    n = len(item_order)
    return dict(segment_station=np.array([0, 1], np.int64), segment_start_s=np.zeros(2),
                segment_lanes=np.asarray(lanes, np.int64), item_order=np.asarray(item_order, np.int64),
                item_station=np.asarray(item_station, np.int64), item_prep_s=np.asarray(prep),
                item_prep_sd_s=np.asarray(sd), item_release_s=np.zeros(n), item_due_s=np.asarray(due),
                item_weight=np.ones(n), item_just_in_time=np.asarray(jit, bool),
                handoff_s=float(rng.choice([0.0, 15.0])), n_stations=2)


def as_plan_args(kw):
    """One-store quote() arguments -> plan() arguments."""
    out = dict(kw)
    out.pop("n_stations", None)
    out["station_store"] = np.zeros(MENU_STATIONS, np.int64)
    return out


def chain(rng, n_stores):
    """Several random stores in one set of plan() arrays."""
    stores = [random_store(rng) for _ in range(n_stores)]
    cat = {}
    item_base = 0
    for s, kw in enumerate(stores):
        n_items = kw["item_order"].size
        part = dict(
            station_store=np.full(MENU_STATIONS, s, np.int64),
            segment_station=kw["segment_station"] + MENU_STATIONS * s,
            segment_start_s=kw["segment_start_s"], segment_lanes=kw["segment_lanes"],
            item_order=kw["item_order"] + 1000 * s, item_station=kw["item_station"] + MENU_STATIONS * s,
            item_prep_s=kw["item_prep_s"], item_prep_sd_s=kw["item_prep_sd_s"],
            item_release_s=kw["item_release_s"], item_due_s=kw["item_due_s"], item_weight=kw["item_weight"],
            item_just_in_time=kw["item_just_in_time"],
            progress_item=kw.get("progress_item", np.zeros(0, np.int64)) + item_base,
            progress_lane=kw.get("progress_lane", np.zeros(0, np.int64)),
            progress_remaining_s=kw.get("progress_remaining_s", np.zeros(0)))
        for k, v in part.items():
            cat.setdefault(k, []).append(v)
        item_base += n_items
    out = {k: np.concatenate(v) for k, v in cat.items()}
    out["handoff_s"] = np.asarray([kw["handoff_s"] for kw in stores])
    out["n_stores"] = n_stores
    return out


seeds = st.integers(min_value=0, max_value=2**32 - 1)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)

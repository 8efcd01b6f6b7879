"""Instance files (DESIGN.md, "Instance files for core_native.plan"): one store's
stations, items and items in progress as a JSON object, planned offline.

    instance_arrays(instance: dict) -> dict   plan() keyword arguments, plus the station and
                                              order names for printing
    plan_instance(instance: dict) -> dict     the plan, JSON-ready (items, orders, totals);
                                              by default with THOROUGH_PLANNER

`python -m core_native.plan` reads a file with these. Optional item keys beyond
DESIGN.md: prep_sd_s (default 0) and just_in_time (default false); an optional
top-level handoff_s (default 0). A bad instance raises PlanError naming the field.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ._cli import number, require
from ._layout import PlanError
from .api import plan
from .config import THOROUGH_PLANNER, PlannerConfig

_require = partial(require, error=PlanError)
_number = partial(number, error=PlanError)


def instance_arrays(instance: dict) -> dict:
    """Parse a DESIGN.md instance dict into plan() keyword arguments (+ names for printing)."""
    _require(isinstance(instance, dict), "the instance must be a JSON object")
    stations = instance.get("stations")
    _require(isinstance(stations, list) and stations, "the instance needs a non-empty 'stations' list")
    names = {}
    seg_station, seg_start, seg_lanes = [], [], []
    for i, st in enumerate(stations):
        _require(isinstance(st, dict) and isinstance(st.get("name"), str), f"stations[{i}] needs a 'name'")
        _require(st["name"] not in names, f"station '{st['name']}' is listed twice")
        names[st["name"]] = i
        lanes = st.get("lanes")
        _require(isinstance(lanes, list) and lanes, f"station '{st['name']}' has no 'lanes'")
        for j, seg in enumerate(lanes):
            _require(isinstance(seg, list) and len(seg) == 2, f"station '{st['name']}' lanes[{j}] must be [t_s, count]")
            t = _number(seg[0], f"station '{st['name']}' lanes[{j}] time")
            c = _number(seg[1], f"station '{st['name']}' lanes[{j}] count", 0)
            _require(c == int(c), f"station '{st['name']}' lanes[{j}] count must be a whole number")
            seg_station.append(i)
            seg_start.append(t)
            seg_lanes.append(int(c))
    items = instance.get("items")
    _require(isinstance(items, list), "the instance needs an 'items' list")
    order_ids, order_names = {}, []
    cols = {k: [] for k in ("order", "station", "prep", "sd", "release", "due", "weight", "jit")}
    for i, it in enumerate(items):
        where = f"items[{i}]"
        _require(isinstance(it, dict), f"{where} must be an object")
        _require("order" in it, f"{where} needs an 'order'")
        key = str(it["order"])
        if key not in order_ids:
            order_ids[key] = len(order_names)  # first appearance = earlier order, wins ties
            order_names.append(it["order"])
        _require(it.get("station") in names, f"{where} station {it.get('station')!r} is not a listed station")
        cols["order"].append(order_ids[key])
        cols["station"].append(names[it["station"]])
        cols["prep"].append(_number(it.get("prep_s"), f"{where} prep_s", 0, strict=True))
        cols["sd"].append(_number(it.get("prep_sd_s", 0), f"{where} prep_sd_s", 0))
        cols["release"].append(_number(it.get("release_s", 0), f"{where} release_s"))
        _require("due_s" in it, f"{where} needs a 'due_s'")
        cols["due"].append(_number(it["due_s"], f"{where} due_s"))
        cols["weight"].append(_number(it.get("weight", 1), f"{where} weight", 0))
        cols["jit"].append(bool(it.get("just_in_time", False)))
    lanes_ever = np.zeros(len(stations), np.int64)
    for s, c in zip(seg_station, seg_lanes):
        lanes_ever[s] = max(lanes_ever[s], c)
    for i, s in enumerate(cols["station"]):
        _require(lanes_ever[s] > 0, f"items[{i}]: station '{stations[s]['name']}' has no lanes")
    p_item, p_lane, p_rem = [], [], []
    for i, p in enumerate(instance.get("in_progress", []) or []):
        where = f"in_progress[{i}]"
        _require(isinstance(p, dict), f"{where} must be an object")
        idx = p.get("item")
        _require(isinstance(idx, int) and 0 <= idx < len(items), f"{where} item must be an item index")
        lane = p.get("lane")
        _require(isinstance(lane, int) and lane >= 0, f"{where} lane must be a lane number >= 0")
        p_item.append(idx)
        p_lane.append(lane)
        p_rem.append(_number(p.get("remaining_s"), f"{where} remaining_s", 0, strict=True))
    handoff = _number(instance.get("handoff_s", 0), "handoff_s", 0)
    kwargs = dict(
        segment_station=np.asarray(seg_station, np.int64), segment_start_s=np.asarray(seg_start, np.float64),
        segment_lanes=np.asarray(seg_lanes, np.int64), item_order=np.asarray(cols["order"], np.int64),
        item_station=np.asarray(cols["station"], np.int64), item_prep_s=np.asarray(cols["prep"]),
        item_prep_sd_s=np.asarray(cols["sd"]), item_release_s=np.asarray(cols["release"]),
        item_due_s=np.asarray(cols["due"]), item_weight=np.asarray(cols["weight"]),
        item_just_in_time=np.asarray(cols["jit"], bool), progress_item=np.asarray(p_item, np.int64),
        progress_lane=np.asarray(p_lane, np.int64), progress_remaining_s=np.asarray(p_rem, np.float64),
        handoff_s=handoff, station_store=np.zeros(len(stations), np.int64))
    return dict(kwargs=kwargs, station_names=[s["name"] for s in stations], order_names=order_names)


def plan_instance(instance: dict, *, use_reference=False, config: PlannerConfig = THOROUGH_PLANNER) -> dict:
    """Plan a DESIGN.md instance dict; returns a JSON-ready dict (items, orders, totals).

    One store planned offline, so by default with the thorough search (`THOROUGH_PLANNER`)."""
    parsed = instance_arrays(instance)
    kw = parsed["kwargs"]
    result = plan(**kw, use_reference=use_reference, config=config)
    names, orders = parsed["station_names"], parsed["order_names"]

    def num(x):
        return float(x) if np.isfinite(x) else None

    items = [dict(item=i, order=orders[int(kw["item_order"][i])], station=names[int(kw["item_station"][i])],
                  lane=int(result.item_lane[i]), start_s=num(result.item_start_s[i]),
                  finish_s=num(result.item_finish_s[i])) for i in range(len(kw["item_order"]))]
    order_rows = [dict(order=orders[int(result.order_id[q])], ready_s=num(result.order_ready_s[q]),
                       due_s=float(result.order_due_s[q]), weight=float(result.order_weight[q]),
                       tardiness_s=num(result.order_tardiness_s[q]), margin_s=float(result.order_margin_s[q]))
                  for q in range(result.order_id.size)]
    totals = dict(total_weighted_tardiness=result.total_weighted_tardiness, late_items=result.late_items,
                  makespan=result.makespan, unscheduled_items=result.unscheduled_items)
    return dict(items=items, orders=order_rows, totals=totals)

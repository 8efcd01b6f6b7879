"""Scenario files for the store simulator (DESIGN.md format): checked, and their
customers drawn.

    load_scenario(path) -> dict        read and check a scenario file
    validate_scenario(sc) -> dict      check a scenario dict; the parsed fields go under "_"
    draw_orders(sc["_"]) -> list       every order of the run, drawn up front from the seed

A menu item may say `actual_prep_s`: the kitchen's real mean time when the configured
`prep_s` is wrong. Actual times are drawn around it (same cv); every policy still plans
and quotes with `prep_s`, as a store's scheduler would with its configured times.

Fire by arrival (issue 27): an arrivals entry may say `fire_on_arrival_share`, the share of its
orders marked "make it when I arrive" (app channels only: mobile, delivery); `eta_notice_s: {mean, sd}`
says how long before walking in such a customer says "on my way" (0 or less: they say "I'm here" as
they walk in), and `shelf_hold_s` is the store's hold limit (a customer silent that long after the
promise is taken to have come at it; the app's shelf_hold_minutes, default 5 min). These draws come
from a second generator seeded from the scenario seed, so a scenario without the option draws
exactly the customers it drew before.

A scenario that is not usable raises ScenarioError; the message says why.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from .._cli import load_json_file, number, require

CHANNELS = ("mobile", "counter", "kiosk", "drive_thru", "delivery")
# Channels whose customers order ahead in the app and can ask to have it made when they arrive.
ARRIVAL_CHANNELS = ("mobile", "delivery")
# Mixed into the scenario seed for the fire-by-arrival draws (a stream apart from the customers' own).
_ARRIVAL_STREAM = 27


class ScenarioError(ValueError):
    """The scenario file is not usable; the message says why."""


_require = partial(require, error=ScenarioError)
_number = partial(number, error=ScenarioError)


def _steps(value, where, minimum_value=0):
    _require(isinstance(value, list) and value, f"{where} must be a non-empty list of [t_s, value]")
    out = []
    for i, step in enumerate(value):
        _require(isinstance(step, list) and len(step) == 2, f"{where}[{i}] must be [t_s, value]")
        out.append((_number(step[0], f"{where}[{i}] time"),
                    _number(step[1], f"{where}[{i}] value", minimum_value)))
    times = [t for t, _ in out]
    _require(times == sorted(times) and len(set(times)) == len(times), f"{where} times must increase")
    return out


def validate_scenario(sc) -> dict:
    """Check a scenario dict (DESIGN.md format); returns it with parsed fields added under '_'."""
    _require(isinstance(sc, dict), "the scenario must be a JSON object")
    for key in ("horizon_s", "slot_s", "slot_capacity", "handoff_s", "stations", "menu", "items_per_order",
                "arrivals"):
        _require(key in sc, f"the scenario has no '{key}'")
    horizon = _number(sc["horizon_s"], "horizon_s", 0, strict=True)
    slot_s = _number(sc["slot_s"], "slot_s", 0, strict=True)
    capacity = _number(sc["slot_capacity"], "slot_capacity", 0)
    handoff = _number(sc["handoff_s"], "handoff_s", 0)
    seed = sc.get("seed", 0)
    _require(isinstance(seed, int) and not isinstance(seed, bool), "seed must be an integer")
    _require(isinstance(sc["stations"], list) and sc["stations"], "the scenario needs at least one station")
    stations, station_index = [], {}
    for i, st in enumerate(sc["stations"]):
        _require(isinstance(st, dict) and isinstance(st.get("name"), str), f"stations[{i}] needs a 'name'")
        _require(st["name"] not in station_index, f"station '{st['name']}' is listed twice")
        steps = _steps(st.get("lanes"), f"station '{st['name']}' lanes")
        for t, c in steps:
            _require(c == int(c), f"station '{st['name']}' lane counts must be whole numbers")
        station_index[st["name"]] = i
        stations.append([(t, int(c)) for t, c in steps])
    _require(isinstance(sc["menu"], list) and sc["menu"], "the scenario needs a non-empty menu")
    menu, actual_prep = [], []
    for i, m in enumerate(sc["menu"]):
        _require(isinstance(m, dict), f"menu[{i}] must be an object")
        name = m.get("sku", f"menu[{i}]")
        _require(m.get("station") in station_index, f"menu item '{name}': station {m.get('station')!r} is not listed")
        st = station_index[m["station"]]
        _require(max(c for _, c in stations[st]) > 0,
                 f"station '{m['station']}' has no lanes but menu item '{name}' needs it")
        prep = _number(m.get("prep_s"), f"menu item '{name}' prep_s", 0, strict=True)
        cv = _number(m.get("cv", 0), f"menu item '{name}' cv", 0)
        weight = _number(m.get("weight", 1), f"menu item '{name}' weight", 0)
        menu.append((st, prep, cv, weight))
        # The kitchen's real mean, when the configured prep_s is wrong (policies still plan and quote
        # with prep_s; only the drawn actual times use this).
        actual = prep
        if m.get("actual_prep_s") is not None:
            actual = _number(m["actual_prep_s"], f"menu item '{name}' actual_prep_s (the real mean prep seconds)",
                             0, strict=True)
        actual_prep.append(actual)
    _require(sum(w for *_, w in menu) > 0, "menu weights must not all be zero")
    ipo = sc["items_per_order"]
    _require(isinstance(ipo, dict), "items_per_order must be an object")
    ipo_mean = _number(ipo.get("mean"), "items_per_order.mean", 1)
    ipo_max = _number(ipo.get("max"), "items_per_order.max", 1)
    _require(ipo_max == int(ipo_max), "items_per_order.max must be a whole number")
    _require(isinstance(sc["arrivals"], list), "arrivals must be a list")
    arrivals, fire_share = [], []
    for i, a in enumerate(sc["arrivals"]):
        _require(isinstance(a, dict), f"arrivals[{i}] must be an object")
        _require(a.get("channel") in CHANNELS, f"arrivals[{i}] channel must be one of {', '.join(CHANNELS)}")
        rates = _steps(a.get("rate_per_h"), f"arrivals[{i}] rate_per_h")
        share = _number(a.get("scheduled_share", 0), f"arrivals[{i}] scheduled_share", 0)
        _require(share <= 1, f"arrivals[{i}] scheduled_share must be at most 1")
        lead = a.get("lead_s", [0, 0])
        _require(isinstance(lead, list) and len(lead) == 2, f"arrivals[{i}] lead_s must be [min, max]")
        lead_lo = _number(lead[0], f"arrivals[{i}] lead_s min", 0)
        lead_hi = _number(lead[1], f"arrivals[{i}] lead_s max", lead_lo)
        arrivals.append((a["channel"], rates, share, lead_lo, lead_hi))
        fire = _number(a.get("fire_on_arrival_share", 0), f"arrivals[{i}] fire_on_arrival_share", 0)
        _require(fire <= 1, f"arrivals[{i}] fire_on_arrival_share must be at most 1")
        _require(fire == 0 or a["channel"] in ARRIVAL_CHANNELS,
                 f"arrivals[{i}] fire_on_arrival_share: {a['channel']} customers order in the store, they are "
                 f"already here (only {', '.join(ARRIVAL_CHANNELS)} orders can be made on arrival)")
        fire_share.append(fire)
    off = sc.get("customer_arrival_offset_s", {"mean": 0, "sd": 0})
    _require(isinstance(off, dict), "customer_arrival_offset_s must be an object")
    off_mean = _number(off.get("mean", 0), "customer_arrival_offset_s.mean")
    off_sd = _number(off.get("sd", 0), "customer_arrival_offset_s.sd", 0)
    notice = sc.get("eta_notice_s", {"mean": 0, "sd": 0})
    _require(isinstance(notice, dict), "eta_notice_s must be an object {mean, sd} (seconds before walking in)")
    notice_mean = _number(notice.get("mean", 0), "eta_notice_s.mean")
    notice_sd = _number(notice.get("sd", 0), "eta_notice_s.sd", 0)
    shelf_hold = _number(sc.get("shelf_hold_s", 300), "shelf_hold_s (the store's hold limit)", 0, strict=True)
    sc = dict(sc)
    sc["_"] = dict(horizon=horizon, slot_s=slot_s, capacity=int(capacity), handoff=handoff, seed=seed,
                   stations=stations, station_names=[s["name"] for s in sc["stations"]], menu=menu,
                   actual_prep=actual_prep,
                   ipo_mean=ipo_mean, ipo_max=int(ipo_max), arrivals=arrivals, off_mean=off_mean, off_sd=off_sd,
                   fire_share=fire_share, notice_mean=notice_mean, notice_sd=notice_sd, shelf_hold=shelf_hold)
    return sc


def draw_orders(p: dict):
    """Every order of the run, sorted by time: dicts with channel, time, items, etc."""
    rng = np.random.default_rng(p["seed"])
    weights = np.array([m[3] for m in p["menu"]])
    weights = weights / weights.sum()
    orders = []
    for source, (channel, rates, share, lead_lo, lead_hi) in enumerate(p["arrivals"]):
        for k, (t0, rate) in enumerate(rates):
            t1 = rates[k + 1][0] if k + 1 < len(rates) else p["horizon"]
            t1 = min(t1, p["horizon"])
            if rate <= 0 or t1 <= t0:
                continue
            t = t0
            while True:
                t += rng.exponential(3600.0 / rate)
                if t >= t1:
                    break
                n_items = int(min(p["ipo_max"], 1 + rng.poisson(p["ipo_mean"] - 1)))
                skus = rng.choice(len(p["menu"]), size=n_items, p=weights)
                actual = []
                for s in skus:
                    _, _, cv, _ = p["menu"][s]
                    mean = p["actual_prep"][s]
                    sigma2 = math.log(1 + cv * cv)
                    actual.append(float(rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))))
                scheduled = bool(rng.random() < share)
                lead = float(rng.uniform(lead_lo, lead_hi)) if scheduled else 0.0
                offset = float(rng.normal(p["off_mean"], p["off_sd"]))
                orders.append(dict(channel=channel, time=t, skus=[int(s) for s in skus], actual=actual,
                                   scheduled=scheduled and lead > 0, wanted=t + lead, offset=offset,
                                   source=source))
    orders.sort(key=lambda o: (o["time"], CHANNELS.index(o["channel"])))
    _draw_arrival_notices(p, orders)
    return orders


def _draw_arrival_notices(p: dict, orders: list) -> None:
    """Mark the make-it-when-I-arrive orders and how long before walking in each customer says "on my way".

    A second generator, so the customers' own draws stay bit-identical with the option on or off; one
    draw of each per order whatever its channel, so a share of 0.4 and one of 0 see the same notices."""
    for o in orders:
        o.update(fire_on_arrival=False, notice=0.0)
    shares = p.get("fire_share", ())
    if not any(share > 0 for share in shares):
        return
    rng = np.random.default_rng([p["seed"], _ARRIVAL_STREAM])
    for o in orders:
        asks = rng.random() < shares[o["source"]]
        notice = float(rng.normal(p["notice_mean"], p["notice_sd"]))
        o.update(fire_on_arrival=bool(asks), notice=max(0.0, notice))


def load_scenario(path: str) -> dict:
    """Read and check a scenario file; ScenarioError says what is wrong with it."""
    return validate_scenario(load_json_file(path, "scenario", ScenarioError))

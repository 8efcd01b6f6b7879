"""Every tunable of the slot planner and the store simulator, in one place.

The kernels read `PlannerConfig` only through their arguments (`api.py`
passes the values in), so a changed value needs no recompile and tests can try
other values. The three compiled-in tunables below the class are the
exception: module constants that both implementations import.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PlannerConfig:
    # Safety margin = safety_z x sqrt(sum of prep-time variances on the order's
    # critical chain). On time (DESIGN) is ready by the promise + 60 s, and a
    # store re-planned on every event absorbs much of each item's spread, so the
    # promise can sit nearer the likely ready time than a one-sided 90% quantile
    # (1.28, the value before issue 27): over 5 seeds of every scenario (the
    # table in docs/SCHEDULER.md) 0.8 cut quote error p90 by 11-14 s on six of
    # eight (bakery 41 s, espresso-times-short 3 s) and kept on-time >= 0.95 wherever 1.28 had it, except the bakery's
    # cv-0.4 oven items (0.954 -> 0.922 mean): a spread that size needs a margin
    # that grows faster than the sd (a known limit). 1.0 and 0.9 were in between;
    # 1.645 missed the quote-error target on scheduled-lunch by ~30 s.
    safety_z: float = 0.8
    # Items of one order that would finish more than this many seconds before
    # the order's last item are started later, so nothing waits on the shelf.
    pacing_window_s: float = 20.0
    # A just-in-time (scheduled) order aims to be ready its own safety margin
    # plus this buffer before its slot starts.
    jit_buffer_s: float = 30.0
    # Local improvement (insertion moves of orders in the dispatch sequence)
    # runs only when the dispatch plan has tardiness; at most this many sweeps
    # (0: no improvement search at all, neither on orders nor on items).
    improve_max_passes: int = 2
    # Its budget: at most this many trial plans per order of the store, so
    # re-planning stays linear in a store's orders however overloaded it is.
    improve_trials_per_order: int = 2
    # The item search after it (single items moved in the list of items placed
    # one by one, so items of different orders can interleave on a station):
    # at most this many trial plans per item to place; 0 = off. Off on the
    # live path: on the 1,000-store benchmark it would cost several times the
    # re-plan time; `THOROUGH_PLANNER` turns it on for small offline problems.
    item_trials_per_item: int = 0
    # The iterated search after the item search (offline only; it runs only
    # where the item search runs): this many kicks, each a few random swaps
    # of items (`ils_kick_swaps`) followed by a descent with dynasearch swap
    # moves and the item search's insertion moves, kept when the plan is no
    # worse than the current one (Congram, Potts & van de Velde 2002). 0 = off,
    # as on the live path. `ils_seed` seeds its generator: plans are the same
    # for the same seed.
    ils_kicks: int = 0
    ils_kick_swaps: int = 3
    ils_seed: int = 1
    # Promise inside the pickup window (the quote only). A scheduled order's
    # promise is normally its slot's start S. When the plan that confirms the
    # slot makes the new order ready more than `slot_shift_tol_s` before its
    # just-in-time target (S - own margin - jit_buffer_s; it is stacked behind
    # the slot's other orders, which all aim at S: "slot bunching"), the slot
    # is promised later instead, P = S + how early it was (rounded to
    # `slot_shift_step_s`, at least one step, at most S + slot width - one
    # step), when the full planner confirms P as it confirms S and the order
    # is then made closer to its promise. inf: always S (the quote as before).
    # Promises are whole minutes after the slot's start (step 60 s). Chosen on
    # the simulator's scheduled-lunch over 8 seeds: tolerance 30 s (one
    # jit_buffer_s) beat 45 and 60 s on quote error and in-store wait; a 30 s
    # step was no better than 60 s (docs/SCHEDULER.md).
    slot_shift_tol_s: float = 30.0
    slot_shift_step_s: float = 60.0
    # Three more tunables are compiled in: FIRE_WINDOW_S, MAX_MOVE and
    # ITEM_MAX_MOVE, module constants below, read by reference.py and
    # _kernels.py alike.


# Compiled-in tunables, defined here once and imported by both implementations
# (reference.py and _kernels.py). Numba treats a module-level global as a
# constant frozen into the machine code when a kernel is compiled, so these
# cost nothing at run time but cannot vary per call (hence not PlannerConfig
# fields). Numba's on-disk cache does not notice an edit to this file (it
# checks only _kernels.py's own timestamp): after changing one of these,
# delete the cache directory (.numba_cache, or $NUMBA_CACHE_DIR) so the
# kernels recompile with the new value.
FIRE_WINDOW_S = 120.0  # a just-in-time item may start at most this much earlier to close a dead gap
MAX_MOVE = 8  # the order search moves an order at most this many places in the sequence
ITEM_MAX_MOVE = 16  # the item search moves an item at most this many places in the item list


DEFAULT_PLANNER = PlannerConfig()


@dataclass(frozen=True)
class WindowConfig:
    """The promised window ("ready 8:12-8:15") around the planned ready time (api.promise_window).
    The plan's uncertainty is sd = margin / safety_z (the margin is safety_z x the critical chain's
    sd); the window is [planned - early_z x sd, planned + late_z x sd], widened to at least
    `min_width_s` and to take in the promise, its ends rounded out to whole `round_s`. early_z and
    late_z are calibrated with the simulator so that about 90% of orders are ready inside
    (docs/SCHEDULER.md, "Promise windows")."""
    early_z: float = 1.0
    late_z: float = 1.0
    min_width_s: float = 60.0
    round_s: float = 60.0


DEFAULT_WINDOW = WindowConfig()
# For offline planning of one small store (`instances.plan_instance`, the
# optimality check): a thorough search, far closer to the optimum, at many
# times the cost.
THOROUGH_PLANNER = PlannerConfig(improve_trials_per_order=16, item_trials_per_item=64, ils_kicks=100)


@dataclass(frozen=True)
class SimulatorConfig:
    # The "fixed" baseline: every ASAP order is quoted this lead time, and all
    # baselines fire scheduled orders into the queue this long before pickup
    # (the usual "default prep time" / "fire time" setting of store POS).
    fixed_quote_s: float = 600.0
    fire_lead_s: float = 600.0
    # The "fifo" baseline: queue-ahead estimate plus this constant padding.
    fifo_margin_s: float = 120.0
    # While an item runs past its mean, the planner assumes this fraction of
    # the mean is still left (it cannot know the real remaining time).
    overrun_floor_fraction: float = 0.15
    # A scheduled customer accepts a slot at most this many slots after the
    # one they asked for; otherwise they leave (a rejected order).
    slot_patience: int = 3
    # Slots offered ahead of time, from the slot that holds "now".
    slots_ahead: int = 48
    # "On time" per DESIGN.md: ready no later than promised + this.
    on_time_grace_s: float = 60.0
    # The planner policy keeps the store's held plan between events, as the Django bridge
    # does (each order's place in the last plan, passed back as item_held_rank); False
    # plans every event from scratch (the planner before held plans, for comparison).
    held_plan: bool = True
    # Planner policy, as the KDS shows it: ASAP tickets appear at once in plan order, a scheduled
    # one only shortly before its planned start. So a barista with nothing to make starts the next
    # ASAP ticket planned on their lane (within this many seconds) rather than stand idle until its
    # planned start (pacing, or a scheduled order's reserved time in front of it), unless that would
    # push the lane's next planned item past its order's promise less margin. 0: baristas keep the
    # plan's start times (before issue 27). Measured over 5 seeds of every scenario: in-store wait
    # p90 fell from 1.04-1.26x fifo's to 0.98-1.13x (mean), quote error rose 1-9 s (docs/SCENARIOS.md).
    idle_start_asap_s: float = 300.0
    # With this on, an idle barista takes the station's earliest planned ASAP ticket on whichever lane,
    # and a walk-in's (the customer waits in the store) even when it delays the lane's next planned
    # ticket. Off by default, measured over 5 seeds of every scenario (docs/SCENARIOS.md): in-store wait
    # p90 falls to <= 1.10x fifo's on the mean everywhere (scheduled-lunch 1.14x -> 0.93x, barista-leaves
    # 1.12x -> 1.08x), but walk-ins are then ready well before their quote: scheduled-lunch's quote error
    # p90 rises 76 -> 94 s (public limit 75). The honest quote wins; a store that would rather serve
    # the queue in front of it first is one setting away.
    idle_start_walk_ins: bool = False
    # Slot offers keep room for the walk-ins expected before the slot (planner policy, scheduled orders
    # only): the quote that checks a slot also plans one typical order per expected walk-in (the scenario's
    # in-store rates), each to be served within this many seconds of arriving; a slot that would crowd them
    # out is not offered (the customer takes a later one). 0: off. Over 10 seeds, 300 s brings every in-store
    # wait mean to <= 1.10x fifo (promotion hour 1.10 -> 0.99, lunch 1.13 -> 1.06, barista-leaves 1.07 ->
    # 1.05) for 2.6 s more of lunch's quote error (docs/SCENARIOS.md). Off because the app has no walk-in
    # forecast to do the same yet: the simulator would then promise what the product does not do.
    walk_in_reserve_s: float = 0.0


DEFAULT_SIMULATOR = SimulatorConfig()


@dataclass(frozen=True)
class LearningConfig:
    """The prep-time learner's tunables (core_native.learning; the reasons are there)."""
    # Shrinkage: the planned mean is n/(n+k) of the learned one and k/(n+k) of the configured one.
    shrink_k: float = 5.0
    # Huber clip: a sample further than this many spreads from the current estimate counts as if it
    # were only that far.
    clip_spreads: float = 2.5
    # The spread the clip uses is at least this share of the estimate (and the configured spread,
    # when the menu has none, is this share of the configured time).
    min_cv: float = 0.15
    default_cv: float = 0.25
    # Memory: the running mean is the plain mean of the first `window` samples and an exponentially
    # weighted one (weight 1/window per new sample) after, so a kitchen that gets faster is followed.
    window: int = 100
    # Samples outside [too_fast_share, left_factor] x the reference time (configured or planned, the
    # larger), with at least left_slack_s above it, are not prep times (see sample_usable).
    too_fast_share: float = 0.1
    left_factor: float = 4.0
    left_slack_s: float = 120.0


DEFAULT_LEARNING = LearningConfig()

"""Learned prep times: a robust running estimate of an item's mean and spread, from the times the kitchen
really took, shrunk toward the configured time while there are few of them.

Pure Python, no Django and no NumPy: the store keeps one `LearnedPrep` per (item, station, daypart) and the
bump that finishes an item calls `learned_update` once, O(1) in time and state; the quote and the order
read `planned_prep` (fulfilment.services.cart). The simulator uses the same three functions.

Why this estimator
------------------
- Robust: a winsorised (Huber-clipped) running mean. Each sample is clipped to the current estimate
  +- `clip_spreads` spreads before it enters the mean, so one 10x sample (a barista who bumped late, a
  machine that jammed) moves the mean by at most clip_spreads x spread / n, not 9 x mean / n. This is
  Huber's M-estimator of location (Huber 1964, "Robust estimation of a location parameter") in its
  one-step streaming form: the influence of any sample is bounded. Median-of-means was the other
  candidate; it needs a buffer per block (not O(1) state) and answers only once a block is full.
- Streaming: mean and variance by the incremental weighted update of West (1979, "Updating mean and
  variance estimates: an improved method"; see also Finch 2009, "Incremental calculation of weighted
  mean and variance"), with weight 1/n for the first `window` samples (the exact running mean and
  variance: order does not matter for samples the clip leaves alone) and 1/window after (an
  exponentially weighted mean that follows a kitchen that gets faster or slower).
- Shrinkage: the planned mean is w x learned + (1 - w) x configured with w = n / (n + k) (a normal
  prior worth k samples; James-Stein in spirit), and the planned variance likewise with n - 1 degrees of
  freedom, so at n = 0 the plan is exactly the configured time, and a few early samples cannot swing it.
- Pooled per station: a kitchen whose configured times are wrong is usually wrong across a station (a
  slower machine, a new team), so each station also learns its pace, the ratio of real to configured time
  over all its items (the same estimator on took / configured), and an item's prior is its configured
  time x its station's pace. An item ordered rarely is then planned well after a few dozen samples of the
  station instead of ten of its own (partial pooling, as in a hierarchical model; Gelman & Hill 2007,
  ch. 12). On the simulator's day with every time 30% off this cut the orders until the plan is within
  10% from 112 to 34 (docs/SCENARIOS.md, "Learned prep times"). The pace is relative to the configured
  times: after correcting them, reset it (admin's "Reset learned prep time" does).
- Which samples: `sample_usable` drops items whose start was never pressed (the caller passes none) and
  items left on the screen (see there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import DEFAULT_LEARNING, LearningConfig

# Dayparts in the store's local time: a kitchen's pace differs between the morning rush, lunch, the
# afternoon lull and the evening (staff, batch sizes, what else is on). Bounds are local hours.
DAYPARTS = ((0, "morning", 0), (1, "lunch", 11), (2, "afternoon", 14), (3, "evening", 17))
DAYPART_CHOICES = [(number, name) for number, name, _ in DAYPARTS]


def daypart_of(local_hour: int) -> int:
    """The daypart a local hour (0-23) falls in."""
    part = 0
    for number, _, starts in DAYPARTS:
        if local_hour >= starts:
            part = number
    return part


@dataclass(frozen=True)
class LearnedPrep:
    """What is kept per (item, station, daypart): samples seen, their robust mean and variance (s, s^2)."""
    n: int = 0
    mean_s: float = 0.0
    var_s2: float = 0.0


def prior_sd(prep_s: float, prep_sd_s: float, config: LearningConfig = DEFAULT_LEARNING) -> float:
    """The configured spread; an item configured without one is taken to vary by `default_cv` (a
    spread of 0 would make the shrunk spread, and the plan's safety margin, too small)."""
    return float(prep_sd_s) if prep_sd_s > 0 else config.default_cv * float(prep_s)


def paced(prep_s: float, prep_sd_s: float, pace: LearnedPrep | None,
          config: LearningConfig = DEFAULT_LEARNING) -> tuple[float, float]:
    """The configured time and spread x the station's learned pace (shrunk toward 1; 1 with no pace)."""
    if pace is None or pace.n <= 0:
        return float(prep_s), float(prep_sd_s)
    ratio, _ = planned_prep(pace, 1.0, 0.0, config)
    return prep_s * ratio, prep_sd_s * ratio


def planned_prep(state: LearnedPrep, prep_s: float, prep_sd_s: float,
                 config: LearningConfig = DEFAULT_LEARNING, pace: LearnedPrep | None = None) -> tuple[float, float]:
    """(mean, sd) to plan with: the learned values shrunk toward the configured ones (x the station's
    `pace`, when given).

    With nothing learned (n = 0, no pace) this is (prep_s, prep_sd_s) exactly. The variance shrinks with
    n - 1 (its degrees of freedom): one sample says nothing about the spread."""
    prep_s, prep_sd_s = paced(prep_s, prep_sd_s, pace, config)
    n = state.n
    if n <= 0:
        return float(prep_s), float(prep_sd_s)
    k = config.shrink_k
    w_mean = n / (n + k)
    w_var = (n - 1) / (n - 1 + k)
    mean = w_mean * state.mean_s + (1.0 - w_mean) * prep_s
    prior_var = prior_sd(prep_s, prep_sd_s, config) ** 2
    var = w_var * state.var_s2 + (1.0 - w_var) * prior_var
    return mean, math.sqrt(max(0.0, var))


def sample_usable(took_s: float, prep_s: float, planned_s: float | None = None,
                  config: LearningConfig = DEFAULT_LEARNING) -> bool:
    """Whether `took_s` (start pressed to done pressed, per unit) is a prep time worth learning from.

    The reference is the larger of the configured and the currently planned time (so an item configured
    far too short can still be learned). Left on the screen: more than `left_factor` x the reference and
    more than the reference + `left_slack_s`. A real make of a lognormal item with a CV of 0.4 exceeds 4x
    its mean about once in 10^4; a bump that late is the barista finishing the ticket after it was handed
    over (or the screen forgotten), which says nothing about the kitchen's speed. The slack keeps a 20 s
    item's occasional 90 s make (the steam wand refilled) as a real sample. Too fast: under
    `too_fast_share` x the reference; start and done tapped together for an item made before start was
    pressed (P < 10^-8 for that lognormal)."""
    reference = max(float(prep_s), float(planned_s or 0.0))
    if not math.isfinite(took_s) or reference <= 0:
        return False
    limit = max(config.left_factor * reference, reference + config.left_slack_s)
    return config.too_fast_share * reference <= took_s <= limit


def learned_update(state: LearnedPrep, took_s: float, prep_s: float, prep_sd_s: float,
                   config: LearningConfig = DEFAULT_LEARNING, pace: LearnedPrep | None = None) -> LearnedPrep:
    """The state after one more sample `took_s` (already judged usable): O(1).

    The clip is centred on the planned (shrunk) estimate, not the raw learned one, so the very first
    samples are judged against the configured time and spread; its scale is at least `min_cv` x that
    centre, so a run of identical samples cannot shrink the clip to nothing and freeze the estimate."""
    prep_s, prep_sd_s = paced(prep_s, prep_sd_s, pace, config)
    centre, spread = planned_prep(state, prep_s, prep_sd_s, config)
    if state.n <= 1:
        spread = max(spread, prior_sd(prep_s, prep_sd_s, config))
    half_width = config.clip_spreads * max(spread, config.min_cv * centre)
    x = min(max(float(took_s), centre - half_width), centre + half_width)
    n = state.n + 1
    if state.n == 0:
        return LearnedPrep(n=1, mean_s=x, var_s2=0.0)
    alpha = max(1.0 / n, 1.0 / config.window)
    delta = x - state.mean_s
    mean = state.mean_s + alpha * delta
    # West's update: var_n = (1 - a) (var_{n-1} + a delta^2); with a = 1/n it is the population
    # variance of the samples so far.
    var = (1.0 - alpha) * (state.var_s2 + alpha * delta * delta)
    return LearnedPrep(n=n, mean_s=mean, var_s2=var)


def pace_update(pace: LearnedPrep, took_s: float, prep_s: float,
                config: LearningConfig = DEFAULT_LEARNING) -> LearnedPrep:
    """The station's pace after one more usable sample of one of its items (configured `prep_s`)."""
    return learned_update(pace, took_s / prep_s, 1.0, 0.0, config)


def learned_from(samples, prep_s: float, prep_sd_s: float,
                 config: LearningConfig = DEFAULT_LEARNING) -> LearnedPrep:
    """The state after `samples` in order, from nothing (the tests' and the simulator's shorthand)."""
    state = LearnedPrep()
    for took in samples:
        state = learned_update(state, took, prep_s, prep_sd_s, config)
    return state

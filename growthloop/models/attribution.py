"""Attribution (归因): credit each conversion and its revenue to the channels of the path before it.

Rule-based models split one conversion over the path's touches:
- first touch / last touch: all to the first / the last;
- linear: equally;
- time decay: in proportion to 2^(-age / half-life), age = time from the touch to the
  conversion (half-life 7 days by default);
- position based: 40% first, 40% last, 20% shared by the touches between (50/50 for two touches).

The data-driven model is a first-order Markov chain over all paths, converting or not (start ->
channels -> conversion or null). A channel's removal effect is the relative drop in the chance
to convert when every visit to it ends the path; conversions and revenue are shared out in
proportion to the removal effects. Pure: paths in, credit out (`attribution_data` builds paths).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from growthloop.models.errors import BAD_PARAMETER, TOO_FEW, FloatArray, ModelInputError

MODEL = "attribution"
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov")
DEFAULT_HALF_LIFE_DAYS = 7.0
NO_CONVERSIONS = "no converting path: there is nothing to attribute"


@dataclass(frozen=True)
class TouchPath:
    """Touches before a conversion (or before the end of the data, when `converted` is False).

    `ages_days[i]` is the time from touch i to the conversion, in days (non-increasing).
    """

    channels: tuple[str, ...]
    ages_days: tuple[float, ...]
    converted: bool
    value: float = 0.0

    def __post_init__(self) -> None:
        if not self.channels or len(self.channels) != len(self.ages_days):
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name="path",
                    rule="at least one touch, with one age per touch",
                    value=(self.channels, self.ages_days),
                )
            )
        if min(self.ages_days) < 0:
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name="ages_days",
                    rule=">= 0 (touches come before the conversion)",
                    value=self.ages_days,
                )
            )


@dataclass(frozen=True)
class Attribution:
    """Credited conversions and revenue per channel, per model, side by side."""

    channels: tuple[str, ...]
    conversions: dict[str, FloatArray]
    revenue: dict[str, FloatArray]
    removal_effects: FloatArray
    converting_paths: int
    half_life_days: float


def rule_weights(model: str, ages_days: Sequence[float], half_life_days: float) -> FloatArray:
    """The share of one conversion each touch of a path gets under a rule-based model."""
    n = len(ages_days)
    w = np.zeros(n)
    if model == "first_touch":
        w[0] = 1
    elif model == "last_touch":
        w[-1] = 1
    elif model == "linear":
        w[:] = 1 / n
    elif model == "time_decay":
        raw = np.exp2(-np.asarray(ages_days, dtype=np.float64) / half_life_days)
        w = raw / raw.sum()
    elif model == "position_based":
        if n == 1:
            w[0] = 1
        elif n == 2:
            w[:] = 0.5
        else:
            w[0] = w[-1] = 0.4
            w[1:-1] = 0.2 / (n - 2)
    else:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="model", rule=f"one of {list(MODELS[:-1])}", value=repr(model)
            )
        )
    return w


def conversion_probability(
    paths: Sequence[TouchPath], channels: Sequence[str], removed: str | None = None
) -> float:
    """P(start reaches conversion) in the first-order chain fitted to the paths.

    With `removed`, transitions into that channel go to null instead.
    """
    index = {c: i for i, c in enumerate(channels)}
    k = len(channels)
    start, conv, null = k, k + 1, k + 2
    counts = np.zeros((k + 3, k + 3))
    for p in paths:
        states = [start, *(index[c] for c in p.channels), conv if p.converted else null]
        for a, b in itertools.pairwise(states):
            counts[a, b] += 1
    if removed is not None:
        r = index[removed]
        counts[:, null] += counts[:, r]
        counts[:, r] = 0
    totals = counts.sum(axis=1, keepdims=True)
    transition = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    # Absorption probabilities into `conv` from the transient states (start and channels):
    # x = Q x + R, solved directly. States never left (no outgoing counts) are dead ends.
    transient = [*range(k), start]
    q = transition[np.ix_(transient, transient)]
    rhs = transition[transient, conv]
    x = np.linalg.solve(np.eye(len(transient)) - q, rhs)
    return float(x[-1])


def attribute(
    paths: Sequence[TouchPath], half_life_days: float = DEFAULT_HALF_LIFE_DAYS
) -> Attribution:
    """Conversions and revenue per channel under every model."""
    if half_life_days <= 0:
        raise ModelInputError(
            BAD_PARAMETER.format(name="half_life_days", rule="> 0", value=half_life_days)
        )
    if not paths:
        raise ModelInputError(TOO_FEW.format(model=MODEL, minimum=1, unit="path", got=0))
    converting = [p for p in paths if p.converted]
    if not converting:
        raise ModelInputError(NO_CONVERSIONS)
    channels = tuple(sorted({c for p in paths for c in p.channels}))
    index = {c: i for i, c in enumerate(channels)}
    conversions = {m: np.zeros(len(channels)) for m in MODELS}
    revenue = {m: np.zeros(len(channels)) for m in MODELS}
    for p in converting:
        where = [index[c] for c in p.channels]
        for m in MODELS[:-1]:
            w = rule_weights(m, p.ages_days, half_life_days)
            np.add.at(conversions[m], where, w)
            np.add.at(revenue[m], where, w * p.value)
    base = conversion_probability(paths, channels)
    effects = np.array([1 - conversion_probability(paths, channels, c) / base for c in channels])
    share = effects / effects.sum() if effects.sum() > 0 else np.zeros(len(channels))
    conversions["markov"] = share * len(converting)
    revenue["markov"] = share * sum(p.value for p in converting)
    return Attribution(channels, conversions, revenue, effects, len(converting), half_life_days)

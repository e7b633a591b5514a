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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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


@dataclass(frozen=True)
class _Touches:
    """The touches of many paths flattened: channel index, age, path number, place in the path."""

    channel: npt.NDArray[np.int64]
    age: FloatArray
    path: npt.NDArray[np.int64]
    position: npt.NDArray[np.int64]
    length: npt.NDArray[np.int64]

    @classmethod
    def of(cls, paths: Sequence[TouchPath], index: dict[str, int]) -> _Touches:
        lengths = np.fromiter((len(p.channels) for p in paths), dtype=np.int64, count=len(paths))
        channel = np.fromiter(
            (index[c] for p in paths for c in p.channels), dtype=np.int64, count=int(lengths.sum())
        )
        age = np.fromiter(
            (a for p in paths for a in p.ages_days), dtype=np.float64, count=int(lengths.sum())
        )
        path = np.repeat(np.arange(len(paths)), lengths)
        starts = np.cumsum(lengths) - lengths
        return cls(channel, age, path, np.arange(len(path)) - starts[path], lengths[path])


def rule_weights(model: str, touches: _Touches, half_life_days: float) -> FloatArray:
    """Each touch's share of its path's conversion under a rule-based model."""
    n, i = touches.length, touches.position
    if model == "first_touch":
        w = (i == 0).astype(np.float64)
    elif model == "last_touch":
        w = (i == n - 1).astype(np.float64)
    elif model == "linear":
        w = 1.0 / n
    elif model == "time_decay":
        raw = np.exp2(-touches.age / half_life_days)
        w = raw / np.bincount(touches.path, weights=raw)[touches.path]
    elif model == "position_based":
        ends = (i == 0) | (i == n - 1)
        middle = 0.2 / np.maximum(n - 2, 1)
        w = np.where(n == 1, 1.0, np.where(n == 2, 0.5, np.where(ends, 0.4, middle)))
    else:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="model", rule=f"one of {list(MODELS[:-1])}", value=repr(model)
            )
        )
    result: FloatArray = np.asarray(w, dtype=np.float64)
    return result


def transition_counts(paths: Sequence[TouchPath], channels: Sequence[str]) -> FloatArray:
    """Transition counts between start (k), the k channels, conversion (k+1) and null (k+2)."""
    index = {c: i for i, c in enumerate(channels)}
    k = len(channels)
    touches = _Touches.of(paths, index)
    ends = np.array([k + 1 if p.converted else k + 2 for p in paths], dtype=np.int64)
    # Each path is start -> its channels -> its end; the pairs are the touches' predecessors.
    previous = np.where(touches.position == 0, k, np.roll(touches.channel, 1))
    last = touches.position == touches.length - 1
    counts = np.zeros((k + 3, k + 3))
    np.add.at(counts, (previous, touches.channel), 1)
    np.add.at(counts, (touches.channel[last], ends), 1)
    return counts


def absorption(counts: FloatArray, removed: int | None = None) -> float:
    """P(start reaches conversion) for transition counts; `removed` sends its inflow to null."""
    k = counts.shape[0] - 3
    start, conv, null = k, k + 1, k + 2
    counts = counts.copy()
    if removed is not None:
        counts[:, null] += counts[:, removed]
        counts[:, removed] = 0
    totals = counts.sum(axis=1, keepdims=True)
    transition = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    # Absorption probabilities into `conv` from the transient states (channels and start):
    # x = Q x + R, solved directly.
    transient = [*range(k), start]
    q = transition[np.ix_(transient, transient)]
    x = np.linalg.solve(np.eye(len(transient)) - q, transition[transient, conv])
    return float(x[-1])


def conversion_probability(
    paths: Sequence[TouchPath], channels: Sequence[str], removed: str | None = None
) -> float:
    """P(start reaches conversion) in the first-order chain fitted to the paths.

    With `removed`, transitions into that channel go to null instead.
    """
    counts = transition_counts(paths, channels)
    return absorption(counts, None if removed is None else list(channels).index(removed))


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
    k = len(channels)
    touches = _Touches.of(converting, index)
    values = np.array([p.value for p in converting], dtype=np.float64)
    conversions: dict[str, FloatArray] = {}
    revenue: dict[str, FloatArray] = {}
    for m in MODELS[:-1]:
        w = rule_weights(m, touches, half_life_days)
        conversions[m] = np.bincount(touches.channel, weights=w, minlength=k).astype(np.float64)
        revenue[m] = np.bincount(
            touches.channel, weights=w * values[touches.path], minlength=k
        ).astype(np.float64)
    counts = transition_counts(paths, channels)
    base = absorption(counts)
    effects = np.array([1 - absorption(counts, i) / base for i in range(k)])
    share = effects / effects.sum() if effects.sum() > 0 else np.zeros(k)
    conversions["markov"] = share * len(converting)
    revenue["markov"] = share * float(values.sum())
    return Attribution(channels, conversions, revenue, effects, len(converting), half_life_days)

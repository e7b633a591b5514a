"""The walk of `funnel_walk`, compiled by Numba (imported only when a funnel runs, so that the
CLI and the other analyses start without loading LLVM)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import numpy.typing as npt

from growthloop.analytics.funnel_walk import STEP_BITS

_INSERTION_SORT_MAX = 32
_PEOPLE_PER_SHARE = 50_000


@numba.njit(cache=True, nogil=True)
def _sort_keys(keys: npt.NDArray[np.int64]) -> None:
    """Sort in place: insertion sort for the short lists most people have, else quicksort."""
    if keys.size > _INSERTION_SORT_MAX:
        keys.sort()
        return
    for i in range(1, keys.size):
        key = keys[i]
        j = i - 1
        while j >= 0 and keys[j] > key:
            keys[j + 1] = keys[j]
            j -= 1
        keys[j + 1] = key


@numba.njit(cache=True, nogil=True)
def walk(
    keys: npt.NDArray[np.int64],
    offsets: npt.NDArray[np.int64],
    n_steps: int,
    window_us: int,
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per person g (keys[offsets[g]:offsets[g+1]], sorted here in place): the level reached
    (0 if no step-1 event) and, for step k+1 (k = 1..n-1) when reached, microseconds from the
    chain's step-1 event (`first[k-1, g]`) and from its step-k event (`prev[k-1, g]`) on the
    path that reached step k+1 first; -1 where not reached.

    Along a person's events in (time, step) order, `start[j]` and `at[j]` hold the step-1 time
    and the own time of the latest event of step j on a chain. A step-j event continues the
    latest step-(j-1) event at or before it if that chain started at most `window_us` before;
    both values only grow along time, so a step's first continuation gives its times.
    """
    people = offsets.size - 1
    level = np.zeros(people, np.int16)
    first = np.full((max(n_steps - 1, 1), people), -1, np.int64)
    prev = np.full((max(n_steps - 1, 1), people), -1, np.int64)
    start = np.empty(n_steps, np.int64)
    at = np.empty(n_steps, np.int64)
    mask = (1 << STEP_BITS) - 1
    for g in range(people):
        mine = keys[offsets[g] : offsets[g + 1]]
        _sort_keys(mine)
        reached = 0
        for key in mine:
            step = key & mask
            ts = key >> STEP_BITS
            if step == 0:
                start[0] = ts
                at[0] = ts
                if reached == 0:
                    reached = 1
            elif step <= reached and start[step - 1] >= ts - window_us:
                # A step-j event continues the latest chain at step j-1 (j = step + 1).
                start[step] = start[step - 1]
                at[step] = ts
                if step == reached:
                    first[step - 1, g] = ts - start[step - 1]
                    prev[step - 1, g] = ts - at[step - 1]
                    reached = step + 1
        level[g] = reached
    return level, first, prev


def walk_all(
    keys: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64], n_steps: int, window_us: int
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """`walk` over everyone, the people split into one contiguous share per core (the walk
    releases the GIL), the shares' answers concatenated in order."""
    people = offsets.size - 1
    shares = min(os.cpu_count() or 1, 8, max(1, people // _PEOPLE_PER_SHARE))
    if shares == 1:
        return walk(keys, offsets, n_steps, window_us)
    bounds = np.linspace(0, people, shares + 1).astype(np.int64)

    def share(i: int) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        lo, hi = bounds[i], bounds[i + 1]
        mine = keys[offsets[lo] : offsets[hi]]
        return walk(mine, offsets[lo : hi + 1] - offsets[lo], n_steps, window_us)

    with ThreadPoolExecutor(shares) as pool:
        parts = list(pool.map(share, range(shares)))
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts], axis=1),
        np.concatenate([p[2] for p in parts], axis=1),
    )


def warm() -> None:
    """Load the compiled walk (compiling it on the first run after an install), so that the
    first funnel a user asks for does not wait for it: `growthloop serve` calls this in the
    background at start."""
    walk(np.zeros(1, np.int64), np.array([0, 1], np.int64), 2, 0)

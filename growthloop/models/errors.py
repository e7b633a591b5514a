"""The errors a growth model raises on input it cannot use, with the messages a user sees.

Every model refuses bad input with a `ModelInputError` whose message says what was wrong and
what to do, instead of returning NaN or a number that means nothing. The message templates are
named constants so that the web layer and the tests can refer to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class ModelInputError(ValueError):
    """The input cannot support the model (too little data, zero variance, a single variant, ...)."""


EMPTY_INPUT = "{what} is empty: there is nothing to compute {model} from"
LENGTH_MISMATCH = "{what} have different lengths ({lengths}); give one value per customer"
NEGATIVE_VALUES = "{what} has negative values (first at index {index}); {rule}"
NOT_FINITE = "{what} has a missing or infinite value at index {index}"
TOO_FEW = "{model} needs at least {minimum} {unit}, got {got}"
ZERO_VARIANCE = "{what} has no variance: every value is {value}, so {model} cannot be computed"
BAD_PARAMETER = "{name} must be {rule}, got {value}"


def as_float_array(values: object, what: str, model: str) -> FloatArray:
    """`values` as a 1-d float array; refuses empty, missing or infinite values."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ModelInputError(
            BAD_PARAMETER.format(name=what, rule="one-dimensional", value=array.shape)
        )
    if array.size == 0:
        raise ModelInputError(EMPTY_INPUT.format(what=what, model=model))
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ModelInputError(NOT_FINITE.format(what=what, index=int(bad[0])))
    return array


def check_non_negative(array: FloatArray, what: str, rule: str) -> None:
    """Refuses negative values, naming the first one."""
    bad = np.flatnonzero(array < 0)
    if bad.size:
        raise ModelInputError(NEGATIVE_VALUES.format(what=what, index=int(bad[0]), rule=rule))


def check_same_length(**arrays: np.ndarray[Any, Any]) -> None:
    """Refuses arrays of different lengths, listing them."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ModelInputError(LENGTH_MISMATCH.format(what=", ".join(lengths), lengths=listed))

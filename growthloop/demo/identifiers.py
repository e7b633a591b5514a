"""Identifier strings built from numpy arrays in bulk (UUIDs, `u_000123`, `anon_<hex>`).

Strings are written straight into an Arrow buffer: millions of ids cost milliseconds and no
Python object per id.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _fixed_width(chars: NDArray[np.uint8]) -> pa.StringArray:
    """An Arrow string array from an (n, width) matrix of ASCII codes."""
    n, width = chars.shape
    offsets = np.arange(n + 1, dtype=np.int64) * width
    data = np.ascontiguousarray(chars).tobytes()
    return pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    ).cast(pa.string())


def random_uuids(rng: np.random.Generator, n: int) -> pa.StringArray:
    """n random (version 4) UUID strings drawn from rng."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    hexchars = _HEX[nibbles]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for start, stop, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        out[:, at : at + stop - start] = hexchars[:, start:stop]
    return _fixed_width(out)


def random_hex_ids(rng: np.random.Generator, n: int, prefix: str, digits: int) -> pa.StringArray:
    """n ids `<prefix><digits random hex digits>`."""
    nibbles = rng.integers(0, 16, size=(n, digits), dtype=np.uint8)
    head = np.broadcast_to(np.frombuffer(prefix.encode(), dtype=np.uint8), (n, len(prefix)))
    return _fixed_width(np.hstack([head, _HEX[nibbles]]))


def numbered_ids(numbers: NDArray[np.int64], prefix: str, digits: int) -> pa.StringArray:
    """Ids `<prefix><number zero-padded to digits>`, e.g. u_000123."""
    n = len(numbers)
    places = 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)
    chars = _DIGITS[(numbers[:, None] // places[None, :]) % 10]
    head = np.broadcast_to(np.frombuffer(prefix.encode(), dtype=np.uint8), (n, len(prefix)))
    return _fixed_width(np.hstack([head, chars]))

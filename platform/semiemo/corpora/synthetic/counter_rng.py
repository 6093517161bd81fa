"""Counter-based uniforms: U[0,1) numbers that are a pure function of (seed, stream, index, k).

Why not one `np.random.default_rng([seed, i])` per utterance for everything: building a generator
costs ~25 µs, which dominates a 500,000-row manifest. Hashing the counter with SplitMix64 (Steele,
Lea & Flood 2014) gives the same property — utterance i's numbers do not depend on which other
utterances are generated, or in what order — vectorised over a whole chunk of indices.
Per-utterance arrays (audio noise, face noise) still come from `utterance_rng`.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def uniforms(seed: int, stream: int, index: np.ndarray, k: int) -> np.ndarray:
    """(len(index), k) uniforms in [0, 1), column j a pure function of (seed, stream, index, j)."""
    with np.errstate(over="ignore"):
        key = _splitmix(np.array([seed], dtype=np.uint64) ^ _splitmix(np.array([stream], dtype=np.uint64)))
        rows = _splitmix(np.asarray(index, dtype=np.uint64) ^ key)
        cols = np.arange(k, dtype=np.uint64) * _GOLDEN
        bits = _splitmix(rows[:, None] ^ _splitmix(cols)[None, :])
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def utterance_rng(seed: int, stream: int, index: int) -> np.random.Generator:
    """A numpy Generator owned by one utterance and one purpose (audio noise, face noise, ...)."""
    return np.random.default_rng([int(seed), int(stream), int(index)])

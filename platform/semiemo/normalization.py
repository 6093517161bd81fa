"""Z-score normalization fitted on the labeled training split, and paper 002's unlabeled strategies.

Paper 002 §V-B ("Unlabeled Data Normalization Strategy", Fig. 7) compares four Z-score settings when
labeled and unlabeled data come from different corpora:

1) none    — "only compute the mean and variance of each feature dimension on the labeled training
             set, and then use them to normalize the labeled training, validation and testing sets,
             while no normalization is applied on the unlabeled data."
2) self    — "compute the mean and variance of each feature dimension on labeled and unlabeled data
             respectively and then normalize each feature dimension into N(0, 1) respectively."
3) shift   — "only compute the mean and variance of each feature dimension on the labeled data and
             use it to normalize both labeled and unlabeled data."
4) combine — "combine the labeled training set and unlabeled data and compute the mean and variance
             of each feature dimension and then use them to normalize both the labeled and unlabeled
             data." Validation and test rows use the same (combined) statistics as labeled training,
             since the classifier is trained in that space.

In every strategy labeled training, validation and test rows share one scaler ("labeled view"); only
the unlabeled rows' scaler differs. Statistics are sklearn `StandardScaler`s (population variance,
constant dimensions left unscaled), fitted chunk by chunk with `partial_fit` so 500k-row pools fit in
memory. Sequences [N, T, d] are normalized per feature dimension over their valid frames; padded
frames (t >= length) stay exactly zero. Pure numpy in, numpy out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.preprocessing import StandardScaler

Strategy = Literal["none", "self", "shift", "combine"]
STRATEGIES: tuple[str, ...] = ("none", "self", "shift", "combine")

_CHUNK_ROWS = 65_536


def _frames(x: np.ndarray, rows: np.ndarray, lengths: np.ndarray | None) -> Iterator[np.ndarray]:
    """The valid [n, d] frames of `rows`, chunk by chunk (utterance rows, or sequence frames)."""
    if x.ndim not in (2, 3):
        raise ValueError(f"features must be [N, d] or [N, T, d], got shape {x.shape}")
    for start in range(0, len(rows), _CHUNK_ROWS):
        chunk = rows[start : start + _CHUNK_ROWS]
        block = x[chunk]
        if x.ndim == 2:
            yield block
        else:
            valid = _valid_mask(block.shape[1], None if lengths is None else lengths[chunk])
            yield block[valid]


def _valid_mask(t: int, lengths: np.ndarray | None) -> np.ndarray | slice:
    if lengths is None:
        return slice(None)
    return np.arange(t)[None, :] < np.asarray(lengths)[:, None]


def _segments_as_frames(x: np.ndarray, lengths: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """[N, S, F, T] segment stacks (paper 004's `avsp`, S valid = length) -> [N, S·T, F] frames of F bins."""
    n, s, f, t = x.shape
    frames = np.ascontiguousarray(np.moveaxis(x, 2, 3)).reshape(n, s * t, f)
    return frames, None if lengths is None else np.asarray(lengths) * t


def fit_zscore(x: np.ndarray, rows: np.ndarray | None = None, lengths: np.ndarray | None = None) -> StandardScaler:
    """A StandardScaler fitted on `rows` of x (all rows when None); sequences use only valid frames.

    Segment stacks [N, S, F, T] are z-scored per frequency bin F over their valid segments' frames.
    """
    x = np.asarray(x)
    if x.ndim == 4:
        x, lengths = _segments_as_frames(x, lengths)
    rows = np.arange(len(x)) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        raise ValueError("cannot fit a z-score on zero rows")
    scaler = StandardScaler()
    for frames in _frames(x, rows, lengths):
        if len(frames):
            scaler.partial_fit(frames)
    if not hasattr(scaler, "mean_"):
        raise ValueError("cannot fit a z-score: the selected sequences have no valid frames")
    return scaler


def apply_zscore(
    scaler: StandardScaler | None, x: np.ndarray, lengths: np.ndarray | None = None
) -> np.ndarray:
    """x normalized by `scaler` (None: unchanged copy); dtype kept; padded sequence frames stay zero."""
    x = np.asarray(x)
    if scaler is None:
        return x.copy()
    if x.ndim == 4:
        n, seg, f, t = x.shape
        frames, frame_lengths = _segments_as_frames(x, lengths)
        z = apply_zscore(scaler, frames, frame_lengths)
        return np.moveaxis(z.reshape(n, seg, t, f), 3, 2).copy()
    out = np.empty_like(x)
    for start in range(0, len(x), _CHUNK_ROWS):
        block = x[start : start + _CHUNK_ROWS]
        if x.ndim == 2:
            out[start : start + len(block)] = scaler.transform(block)
        elif x.ndim == 3:
            n, t, d = block.shape
            z = scaler.transform(block.reshape(n * t, d)).reshape(n, t, d)
            if lengths is not None:
                z[~_valid_mask(t, lengths[start : start + n])] = 0.0
            out[start : start + n] = z
        else:
            raise ValueError(f"features must be [N, d] or [N, T, d], got shape {x.shape}")
    return out


@dataclass
class SplitNormalizer:
    """The two scalers one strategy yields: for labeled (train/val/test) rows and for unlabeled rows."""

    strategy: str
    labeled: StandardScaler
    unlabeled: StandardScaler | None  # None: unlabeled rows are left raw (strategy "none")

    def transform_labeled(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        return apply_zscore(self.labeled, x, lengths)

    def transform_unlabeled(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        return apply_zscore(self.unlabeled, x, lengths)


def fit_normalization(
    x: np.ndarray,
    train_idx: np.ndarray,
    unlabeled_idx: np.ndarray | None,
    strategy: Strategy = "self",
    lengths: np.ndarray | None = None,
) -> SplitNormalizer:
    """Fit paper 002's strategy on x [N, d] or [N, T, d] (module docstring gives the definitions).

    `train_idx`: labeled training rows; `unlabeled_idx`: the unlabeled pool actually used (may be
    empty or None for a supervised run, where every strategy reduces to the labeled z-score).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown normalization strategy {strategy!r}; allowed: {list(STRATEGIES)}")
    train_idx = np.asarray(train_idx, dtype=np.int64)
    unl = np.asarray([] if unlabeled_idx is None else unlabeled_idx, dtype=np.int64)
    if strategy == "combine":
        combined = fit_zscore(x, np.union1d(train_idx, unl), lengths)
        return SplitNormalizer(strategy, combined, combined)
    labeled_scaler = fit_zscore(x, train_idx, lengths)
    if strategy == "none":
        return SplitNormalizer(strategy, labeled_scaler, None)
    if strategy == "shift" or len(unl) == 0:
        return SplitNormalizer(strategy, labeled_scaler, labeled_scaler)
    return SplitNormalizer(strategy, labeled_scaler, fit_zscore(x, unl, lengths))  # self


def normalize(
    x: np.ndarray,
    train_idx: np.ndarray,
    unlabeled_idx: np.ndarray | None,
    strategy: Strategy = "self",
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit and apply: (x_labeled_view [N, ...], x_unlabeled [len(unlabeled_idx), ...]).

    The labeled view is every row under the labeled scaler (index it with train/val/test positions);
    the second array is the unlabeled pool's rows under the unlabeled scaler, in `unlabeled_idx` order.
    """
    norm = fit_normalization(x, train_idx, unlabeled_idx, strategy, lengths)
    unl = np.asarray([] if unlabeled_idx is None else unlabeled_idx, dtype=np.int64)
    unl_lengths = None if lengths is None else np.asarray(lengths)[unl]
    return norm.transform_labeled(x, lengths), norm.transform_unlabeled(np.asarray(x)[unl], unl_lengths)

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
memory. Sequences [N, T, d] are normalized per feature dimension over their valid frames (which
frames are real — the first `length`, or the last with head padding — is `models.masking`'s
answer); padded frames stay exactly zero. Higher-rank groups [N, S, ..., d] (e.g. `avsp` segments,
length = valid segments) are read as S·… frames of width d. Pure numpy in, numpy out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.preprocessing import StandardScaler

from semiemo.models.masking import valid_frames_numpy

Strategy = Literal["none", "self", "shift", "combine"]
STRATEGIES: tuple[str, ...] = ("none", "self", "shift", "combine")

_CHUNK_ROWS = 65_536


def _as_frames(block: np.ndarray, lengths: np.ndarray | None, channel_axis: int = -1
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """[n, S, ..., d] -> [n, S·…, d] (d = the channel axis), lengths (valid S) scaled to frames."""
    if channel_axis not in (-1, block.ndim - 1):
        block = np.moveaxis(block, channel_axis, -1)
    if block.ndim <= 3:
        return block, lengths
    inner = int(np.prod(block.shape[2:-1]))
    flat = block.reshape(block.shape[0], block.shape[1] * inner, block.shape[-1])
    return flat, None if lengths is None else np.asarray(lengths) * inner


def _frames(x: np.ndarray, rows: np.ndarray, lengths: np.ndarray | None, pad_side: str,
            channel_axis: int = -1) -> Iterator[np.ndarray]:
    """The valid [n, d] frames of `rows`, chunk by chunk (utterance rows, or sequence frames)."""
    if x.ndim < 2:
        raise ValueError(f"features must be [N, d] or [N, T, ..., d], got shape {x.shape}")
    for start in range(0, len(rows), _CHUNK_ROWS):
        chunk = rows[start : start + _CHUNK_ROWS]
        block = x[chunk]
        if x.ndim == 2:
            yield block
            continue
        frames, ln = _as_frames(block, None if lengths is None else np.asarray(lengths)[chunk], channel_axis)
        yield frames.reshape(-1, frames.shape[-1]) if ln is None else frames[valid_frames_numpy(ln, frames.shape[1], pad_side)]


def fit_zscore(x: np.ndarray, rows: np.ndarray | None = None, lengths: np.ndarray | None = None,
               pad_side: str = "end", channel_axis: int = -1) -> StandardScaler:
    """A StandardScaler fitted on `rows` of x (all rows when None); sequences use only valid frames."""
    x = np.asarray(x)
    rows = np.arange(len(x)) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        raise ValueError("cannot fit a z-score on zero rows")
    scaler = StandardScaler()
    for frames in _frames(x, rows, lengths, pad_side, channel_axis):
        if len(frames):
            scaler.partial_fit(frames)
    if not hasattr(scaler, "mean_"):
        raise ValueError("cannot fit a z-score: the selected sequences have no valid frames")
    return scaler


def apply_zscore(
    scaler: StandardScaler | None, x: np.ndarray, lengths: np.ndarray | None = None, pad_side: str = "end",
    channel_axis: int = -1,
) -> np.ndarray:
    """x normalized by `scaler` (None: unchanged copy); dtype kept; padded sequence frames stay zero."""
    x = np.asarray(x)
    if scaler is None:
        return x.copy()
    if x.ndim < 2:
        raise ValueError(f"features must be [N, d] or [N, T, ..., d], got shape {x.shape}")
    out = np.empty_like(x)
    for start in range(0, len(x), _CHUNK_ROWS):
        block = x[start : start + _CHUNK_ROWS]
        if x.ndim == 2:
            out[start : start + len(block)] = scaler.transform(block)
            continue
        ln = None if lengths is None else np.asarray(lengths)[start : start + len(block)]
        frames, ln = _as_frames(block, ln, channel_axis)
        n, t, d = frames.shape
        z = scaler.transform(frames.reshape(n * t, d)).reshape(n, t, d)
        if ln is not None:
            z[~valid_frames_numpy(ln, t, pad_side)] = 0.0
        moved = list(block.shape)
        moved.append(moved.pop(channel_axis))  # the channel axis was moved last before flattening
        out[start : start + n] = np.moveaxis(z.reshape(moved), -1, channel_axis)
    return out


@dataclass
class SplitNormalizer:
    """The two scalers one strategy yields: for labeled (train/val/test) rows and for unlabeled rows."""

    strategy: str
    labeled: StandardScaler
    unlabeled: StandardScaler | None  # None: unlabeled rows are left raw (strategy "none")
    pad_side: str = "end"
    channel_axis: int = -1

    def transform_labeled(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        return apply_zscore(self.labeled, x, lengths, self.pad_side, self.channel_axis)

    def transform_unlabeled(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        return apply_zscore(self.unlabeled, x, lengths, self.pad_side, self.channel_axis)


def fit_normalization(
    x: np.ndarray,
    train_idx: np.ndarray,
    unlabeled_idx: np.ndarray | None,
    strategy: Strategy = "self",
    lengths: np.ndarray | None = None,
    pad_side: str = "end",
    channel_axis: int = -1,
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
        combined = fit_zscore(x, np.union1d(train_idx, unl), lengths, pad_side, channel_axis)
        return SplitNormalizer(strategy, combined, combined, pad_side, channel_axis)
    labeled_scaler = fit_zscore(x, train_idx, lengths, pad_side, channel_axis)
    if strategy == "none":
        return SplitNormalizer(strategy, labeled_scaler, None, pad_side, channel_axis)
    if strategy == "shift" or len(unl) == 0:
        return SplitNormalizer(strategy, labeled_scaler, labeled_scaler, pad_side, channel_axis)
    return SplitNormalizer(strategy, labeled_scaler, fit_zscore(x, unl, lengths, pad_side, channel_axis), pad_side, channel_axis)  # self


def normalize(
    x: np.ndarray,
    train_idx: np.ndarray,
    unlabeled_idx: np.ndarray | None,
    strategy: Strategy = "self",
    lengths: np.ndarray | None = None,
    pad_side: str = "end",
) -> tuple[np.ndarray, np.ndarray]:
    """Fit and apply: (x_labeled_view [N, ...], x_unlabeled [len(unlabeled_idx), ...]).

    The labeled view is every row under the labeled scaler (index it with train/val/test positions);
    the second array is the unlabeled pool's rows under the unlabeled scaler, in `unlabeled_idx` order.
    """
    norm = fit_normalization(x, train_idx, unlabeled_idx, strategy, lengths, pad_side)
    unl = np.asarray([] if unlabeled_idx is None else unlabeled_idx, dtype=np.int64)
    unl_lengths = None if lengths is None else np.asarray(lengths)[unl]
    return norm.transform_labeled(x, lengths), norm.transform_unlabeled(np.asarray(x)[unl], unl_lengths)

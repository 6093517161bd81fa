"""Which frames of a padded sequence are real: the one place a frame mask is built.

Sequence featurizers store [T, ...] plus a valid length. Padding goes after the frames
(`pad_side="end"`, the default) or before them (`"start"`, paper 003's head padding). Everything that
looks at frames — z-score fitting, pooling, SpecAugment, attention masks — asks this module, so a
head-padded group is never normalized, pooled or masked as if its real frames came first.
"""

from __future__ import annotations

import numpy as np
import torch

PAD_SIDES = ("end", "start")


def _check(pad_side: str) -> None:
    if pad_side not in PAD_SIDES:
        raise ValueError(f"pad_side must be one of {PAD_SIDES}, got {pad_side!r}")


def valid_frames(lengths: torch.Tensor, max_len: int, pad_side: str = "end") -> torch.Tensor:
    """[B, max_len] bool, True on real frames: the first `length` (end padding) or the last (start padding)."""
    _check(pad_side)
    steps = torch.arange(max_len, device=lengths.device).unsqueeze(0)
    lengths = lengths.to(torch.long).clamp(0, max_len).unsqueeze(1)
    if pad_side == "end":
        return steps < lengths
    return steps >= (max_len - lengths)


def first_valid_frame(lengths: torch.Tensor, max_len: int, pad_side: str = "end") -> torch.Tensor:
    """[B] index of each row's first real frame (0 for end padding)."""
    _check(pad_side)
    lengths = lengths.to(torch.long).clamp(0, max_len)
    return torch.zeros_like(lengths) if pad_side == "end" else max_len - lengths


def valid_frames_numpy(lengths: np.ndarray, max_len: int, pad_side: str = "end") -> np.ndarray:
    """The numpy twin of `valid_frames` (normalization fits on numpy arrays)."""
    _check(pad_side)
    steps = np.arange(max_len)[None, :]
    lengths = np.clip(np.asarray(lengths, dtype=np.int64), 0, max_len)[:, None]
    return steps < lengths if pad_side == "end" else steps >= (max_len - lengths)

"""The one place a frame mask is built from valid lengths and the group's static pad side.

`pad_or_trim` (features.sequence) keeps the real frames at the front (pad_side="end") or, for paper
003's head padding, at the back (pad_side="start"). Every pooling over time asks this function
which frames are real, so a head-padded group is never averaged over its leading zeros.
"""

from __future__ import annotations

import torch

PAD_SIDES = ("end", "start")


def valid_frames(lengths: torch.Tensor, max_len: int, pad_side: str = "end") -> torch.Tensor:
    """BoolTensor [B, T]: True on real frames. end: t < length; start: t >= T - length."""
    if pad_side not in PAD_SIDES:
        raise ValueError(f"pad_side must be one of {PAD_SIDES}, got {pad_side!r}")
    steps = torch.arange(max_len, device=lengths.device).unsqueeze(0)
    lengths = lengths.long().clamp(0, max_len).unsqueeze(1)
    return steps < lengths if pad_side == "end" else steps >= (max_len - lengths)

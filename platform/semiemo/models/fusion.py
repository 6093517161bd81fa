"""Multimodal classifiers over `dict[str, Tensor]` inputs: early fusion and late fusion by concatenation.

How a feature group becomes a vector (the one rule, used by every model here and by the SVM):
- `[B, d]` utterance-level functionals (is10, egemaps, text, ...) are used as they are;
- `[B, T, d]` sequences (fbank, text_tokens, face, ...) are mean-pooled over their valid frames
  (`lengths[group]` when given, else all T frames; head-padded groups count their last frames, see
  `models.masking`), giving `[B, d]`;
- `[B, S, ..., d]` (e.g. `avsp`'s segments × frames × mel bins, length = valid segments) are read as
  S·… frames of width d and pooled the same way.

Early fusion (paper 002's MFSBase) concatenates the group vectors and feeds one MLP. Late fusion gives
each group its own MLP encoder and concatenates the codes before a linear prediction layer (paper
000's local classifiers, without the MCB pooling that `mmmd` adds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from semiemo.models.masking import valid_frames
from semiemo.models.mlp import MLP


def pooled_dim(shape: Sequence[int], channel_axis: int = -1) -> int:
    """Width of a group's vector after `pool_group` (per-row shape without the batch axis)."""
    shape = tuple(int(s) for s in shape)
    if channel_axis >= 0:
        raise ValueError(f"channel_axis counts from the end (-1, -2, ...), got {channel_axis}")
    return 1 if len(shape) == 0 else shape[-1] if len(shape) == 1 else shape[channel_axis]


def pool_group(x: torch.Tensor, lengths: torch.Tensor | None = None, pad_side: str = "end",
               channel_axis: int = -1) -> torch.Tensor:
    """[B] -> [B,1]; [B,d] as is; [B,T,d] (or [B,S,...,d]) masked mean over valid frames -> [B,d].

    `channel_axis` (counted from the end) names the feature axis when it is not the last (avsp's
    [B, S, bins, frames] has its bins at -2)."""
    if x.dim() == 1:
        return x.unsqueeze(1)
    if x.dim() == 2:
        return x
    if channel_axis != -1:
        x = x.movedim(channel_axis, -1)
    inner = math.prod(x.shape[2:-1])
    x = x.reshape(x.shape[0], x.shape[1] * inner, x.shape[-1])
    if lengths is None:
        return x.mean(dim=1)
    mask = valid_frames(lengths.to(x.device) * inner, x.shape[1], pad_side).to(x.dtype)  # [B, T]
    total = (x * mask.unsqueeze(2)).sum(dim=1)
    return total / mask.sum(dim=1, keepdim=True).clamp_min(1.0)


def pool_group_numpy(x: np.ndarray, lengths: np.ndarray | None = None, pad_side: str = "end",
                     channel_axis: int = -1) -> np.ndarray:
    """The same rule on numpy arrays (for sklearn models such as the SVM)."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    ln = None if lengths is None else torch.from_numpy(np.asarray(lengths))
    return pool_group(t, ln, pad_side, channel_axis).numpy()


class _GroupPooling(nn.Module):
    """The pooling rule of one classifier: each group's pad side and channel axis."""

    pad_sides: dict[str, str]
    channel_axes: dict[str, int]

    def pool(self, group: str, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return pool_group(inputs[group], lengths.get(group), self.pad_sides.get(group, "end"),
                          self.channel_axes.get(group, -1))


class EarlyFusionClassifier(_GroupPooling):
    """Concatenate every group's vector, then one ELU MLP to class logits."""

    def __init__(self, input_shapes: Mapping[str, tuple[int, ...]], num_classes: int,
                 hidden: Sequence[int] = (256, 128), dropout: float = 0.3,
                 pad_sides: Mapping[str, str] | None = None, channel_axes: Mapping[str, int] | None = None) -> None:
        super().__init__()
        self.groups = tuple(sorted(input_shapes))
        if not self.groups:
            raise ValueError("a classifier needs at least one feature group")
        self.pad_sides, self.channel_axes = dict(pad_sides or {}), dict(channel_axes or {})
        in_dim = sum(pooled_dim(input_shapes[g], self.channel_axes.get(g, -1)) for g in self.groups)
        self.encoder = MLP(in_dim, hidden, None, dropout)
        self.head = nn.Linear(self.encoder.out_dim, num_classes)

    def embed(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        lengths = lengths or {}
        x = torch.cat([self.pool(g, inputs, lengths) for g in self.groups], dim=1)
        return self.encoder(x)

    def forward(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.head(self.embed(inputs, lengths))


class LateFusionClassifier(_GroupPooling):
    """One ELU MLP encoder per group; their codes concatenated; a linear prediction layer."""

    def __init__(self, input_shapes: Mapping[str, tuple[int, ...]], num_classes: int,
                 hidden: Sequence[int] = (256, 128), dropout: float = 0.3,
                 pad_sides: Mapping[str, str] | None = None, channel_axes: Mapping[str, int] | None = None) -> None:
        super().__init__()
        self.groups = tuple(sorted(input_shapes))
        if not self.groups:
            raise ValueError("a classifier needs at least one feature group")
        self.pad_sides, self.channel_axes = dict(pad_sides or {}), dict(channel_axes or {})
        self.encoders = nn.ModuleDict({g: MLP(pooled_dim(input_shapes[g], self.channel_axes.get(g, -1)), hidden, None, dropout)
                                       for g in self.groups})
        self.head = nn.Linear(sum(e.out_dim for e in self.encoders.values()), num_classes)

    def embed(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        lengths = lengths or {}
        return torch.cat([self.encoders[g](self.pool(g, inputs, lengths)) for g in self.groups], dim=1)

    def forward(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.head(self.embed(inputs, lengths))

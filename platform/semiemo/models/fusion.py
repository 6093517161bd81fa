"""Multimodal classifiers over `dict[str, Tensor]` inputs: early fusion and late fusion by concatenation.

How a feature group becomes a vector (the one rule, used by every model here and by the SVM):
- `[B, d]` utterance-level functionals (is10, egemaps, text, ...) are used as they are;
- `[B, T, d]` sequences (fbank, text_tokens, face, ...) are mean-pooled over their valid frames
  (`lengths[group]` when given, else all T frames), giving `[B, d]`;
- anything of higher rank is flattened to `[B, prod(shape)]`.

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

from semiemo.models.mlp import MLP


def pooled_dim(shape: Sequence[int]) -> int:
    """Width of a group's vector after `pool_group` (per-row shape without the batch axis)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1
    if len(shape) == 1:
        return shape[0]
    if len(shape) == 2:
        return shape[1]
    return int(math.prod(shape))


def pool_group(x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """[B] -> [B,1]; [B,d] as is; [B,T,d] masked mean over valid frames; higher rank flattened."""
    if x.dim() == 1:
        return x.unsqueeze(1)
    if x.dim() == 2:
        return x
    if x.dim() == 3:
        if lengths is None:
            return x.mean(dim=1)
        steps = torch.arange(x.shape[1], device=x.device)
        mask = (steps.unsqueeze(0) < lengths.to(x.device).unsqueeze(1)).to(x.dtype)  # [B, T]
        total = (x * mask.unsqueeze(2)).sum(dim=1)
        return total / mask.sum(dim=1, keepdim=True).clamp_min(1.0)
    return x.flatten(start_dim=1)


def pool_group_numpy(x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """The same rule on numpy arrays (for sklearn models such as the SVM)."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    ln = None if lengths is None else torch.from_numpy(np.asarray(lengths))
    return pool_group(t, ln).numpy()


class EarlyFusionClassifier(nn.Module):
    """Concatenate every group's vector, then one ELU MLP to class logits."""

    def __init__(self, input_shapes: Mapping[str, tuple[int, ...]], num_classes: int,
                 hidden: Sequence[int] = (256, 128), dropout: float = 0.3) -> None:
        super().__init__()
        self.groups = tuple(sorted(input_shapes))
        if not self.groups:
            raise ValueError("a classifier needs at least one feature group")
        in_dim = sum(pooled_dim(input_shapes[g]) for g in self.groups)
        self.encoder = MLP(in_dim, hidden, None, dropout)
        self.head = nn.Linear(self.encoder.out_dim, num_classes)

    def embed(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        lengths = lengths or {}
        x = torch.cat([pool_group(inputs[g], lengths.get(g)) for g in self.groups], dim=1)
        return self.encoder(x)

    def forward(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.head(self.embed(inputs, lengths))


class LateFusionClassifier(nn.Module):
    """One ELU MLP encoder per group; their codes concatenated; a linear prediction layer."""

    def __init__(self, input_shapes: Mapping[str, tuple[int, ...]], num_classes: int,
                 hidden: Sequence[int] = (256, 128), dropout: float = 0.3) -> None:
        super().__init__()
        self.groups = tuple(sorted(input_shapes))
        if not self.groups:
            raise ValueError("a classifier needs at least one feature group")
        self.encoders = nn.ModuleDict({g: MLP(pooled_dim(input_shapes[g]), hidden, None, dropout) for g in self.groups})
        self.head = nn.Linear(sum(e.out_dim for e in self.encoders.values()), num_classes)

    def embed(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        lengths = lengths or {}
        return torch.cat([self.encoders[g](pool_group(inputs[g], lengths.get(g))) for g in self.groups], dim=1)

    def forward(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.head(self.embed(inputs, lengths))

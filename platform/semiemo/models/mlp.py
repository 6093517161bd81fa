"""The fully connected block every baseline is built from: Linear -> ELU -> Dropout, repeated.

Paper 000 (Experimental Setup): hidden layers use ELU, the prediction layer a softmax (here: the
logits, the softmax lives in the loss), Adam, two hidden layers of 128 and 64 units per local
classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """`in_dim -> hidden[0] -> ... -> hidden[-1] [-> out_dim]`, ELU and dropout after each hidden layer.

    With `out_dim=None` the block is an encoder: it ends at the last hidden layer (its `out_dim`
    attribute then equals `hidden[-1]`), which is what late fusion concatenates.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        if in_dim <= 0:
            raise ValueError(f"MLP input dimension must be positive, got {in_dim}")
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ELU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = int(h)
        if out_dim is not None:
            layers.append(nn.Linear(width, int(out_dim)))
            width = int(out_dim)
        self.net = nn.Sequential(*layers)
        self.in_dim = in_dim
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

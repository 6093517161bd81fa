"""Paper 003's SER network M_θ (eq. 2): transformer encoder -> masked mean over time -> MLP head.

    h = TransformerEncoder(x);  z = mean_t h (real frames only);  f = MLP(z);  p = softmax(f)

Paper 003 §4.2: 8 blocks, 8 heads, hidden size 512. Unstated internals (spec 003 §5.3): FFN 2048,
sinusoidal positions, post-LN `nn.TransformerEncoderLayer`, dropout 0.1, head 512 -> 256 -> C with
ReLU. A group whose width differs from d gets a linear input projection. Several groups become one
token sequence: each [B, T, d] group contributes its projected frames, each [B, d] group one token,
and a learned group embedding tells them apart (absent with a single group, the paper's case). Head
padding is honoured through `models.masking.valid_frames` with the group's pad side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from semiemo.models.masking import valid_frames

POOLINGS = ("masked_mean", "mean")


@dataclass(frozen=True)
class TransformerOptions:
    """Encoder shape; defaults are paper 003 §4.2 and spec 003 §5.3."""

    layers: int = field(default=8, metadata={"doc": "encoder blocks, paper 003 §4.2"})
    heads: int = field(default=8, metadata={"doc": "attention heads, paper 003 §4.2"})
    d_model: int = field(default=512, metadata={"doc": "hidden size d, paper 003 §4.2"})
    ffn: int = field(default=2048, metadata={"doc": "feed-forward width (not stated; the PyTorch/Vaswani default)"})
    dropout: float = field(default=0.1, metadata={"doc": "dropout on every linear map (paper 003: rate not given)"})
    head_hidden: int = field(default=256, metadata={"doc": "hidden width of the MLP head (not stated)"})
    pooling: str = field(default="masked_mean", metadata={"doc": "'masked_mean' over real frames or plain 'mean'"})
    frame_stride: int = field(default=1, metadata={
        "doc": "average every s consecutive real frames into one token before the encoder (1 = the paper; "
               ">1 cuts attention cost by s² for CPU-sized runs)"})

    @classmethod
    def from_dict(cls, values: Mapping | None) -> "TransformerOptions":
        values = dict(values or {})
        allowed = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(f"unknown transformer option(s) {unknown}; allowed: {sorted(allowed)}")
        opts = cls(**values)
        if opts.pooling not in POOLINGS:
            raise ValueError(f"transformer pooling must be one of {POOLINGS}, got {opts.pooling!r}")
        if opts.frame_stride < 1:
            raise ValueError(f"transformer frame_stride must be >= 1, got {opts.frame_stride}")
        if opts.d_model % opts.heads:
            raise ValueError(f"transformer d_model ({opts.d_model}) must be divisible by heads ({opts.heads})")
        return opts


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """[length, dim] sine/cosine positions (Vaswani et al. 2017)."""
    pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    out = torch.zeros(length, dim)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return out


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of h [B, T, d] over the frames where mask [B, T] is True (an empty row gives 0)."""
    w = mask.to(h.dtype).unsqueeze(2)
    return (h * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)


def strided_mean(x: torch.Tensor, mask: torch.Tensor, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, T, d], [B, T] -> windows of `stride` frames averaged over their real frames; a window is real
    when any of its frames is. T is zero-padded up to a multiple of the stride (padding is not real)."""
    b, t, d = x.shape
    pad = (-t) % stride
    if pad:
        x = torch.nn.functional.pad(x, (0, 0, 0, pad))
        mask = torch.nn.functional.pad(mask, (0, pad), value=False)
    w = mask.to(x.dtype).reshape(b, -1, stride, 1)
    total = (x.reshape(b, -1, stride, d) * w).sum(dim=2)
    count = w.sum(dim=2)
    return total / count.clamp_min(1.0), count.squeeze(2) > 0


class TransformerClassifier(nn.Module):
    """M_θ of paper 003 over `dict[str, Tensor]` inputs; returns class logits [B, C]."""

    def __init__(self, input_shapes: Mapping[str, tuple[int, ...]], num_classes: int,
                 options: TransformerOptions = TransformerOptions(),
                 pad_sides: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.groups = tuple(sorted(input_shapes))
        if not self.groups:
            raise ValueError("a classifier needs at least one feature group")
        for g in self.groups:
            if len(input_shapes[g]) not in (1, 2):
                raise ValueError(f"transformer backbone takes [T, d] sequences or [d] vectors; group {g!r} has "
                                 f"per-row shape {tuple(input_shapes[g])} — flatten it or use backbone 'mlp'")
        self.options = options
        self.pad_sides = {g: (pad_sides or {}).get(g, "end") for g in self.groups}
        d = options.d_model
        self.project = nn.ModuleDict({
            g: (nn.Identity() if input_shapes[g][-1] == d else nn.Linear(int(input_shapes[g][-1]), d))
            for g in self.groups})
        stride = options.frame_stride
        max_t = max([-(-int(s[0]) // stride) for s in input_shapes.values() if len(s) == 2] or [1])
        self.register_buffer("positions", sinusoidal_positions(max_t, d), persistent=False)
        self.group_embedding = nn.Parameter(torch.zeros(len(self.groups), d)) if len(self.groups) > 1 else None
        layer = nn.TransformerEncoderLayer(d, options.heads, options.ffn, options.dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, options.layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.Linear(d, options.head_hidden), nn.ReLU(), nn.Dropout(options.dropout),
                                  nn.Linear(options.head_hidden, num_classes))

    def tokens(self, inputs: Mapping[str, torch.Tensor],
               lengths: Mapping[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected tokens [B, L, d] with positions (and group embeddings) added; real-token mask [B, L]."""
        lengths = lengths or {}
        parts, masks = [], []
        for k, g in enumerate(self.groups):
            x = inputs[g].float()
            if x.dim() == 2:
                x = x.unsqueeze(1)
                mask = torch.ones(x.shape[0], 1, dtype=torch.bool, device=x.device)
            else:
                ln = lengths.get(g)
                mask = (torch.ones(x.shape[:2], dtype=torch.bool, device=x.device) if ln is None
                        else valid_frames(ln.to(x.device), x.shape[1], self.pad_sides[g]))
                if self.options.frame_stride > 1:
                    x, mask = strided_mean(x, mask, self.options.frame_stride)
            h = self.project[g](x) + self.positions[: x.shape[1]]
            if self.group_embedding is not None:
                h = h + self.group_embedding[k]
            parts.append(h)
            masks.append(mask)
        return torch.cat(parts, dim=1), torch.cat(masks, dim=1)

    def embed(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        """z of eq. 2: the encoder output averaged over real frames; [B, d]."""
        h, mask = self.tokens(inputs, lengths)
        # a row with no real frame would make attention NaN; let it attend to everything (it pools to 0)
        empty = ~mask.any(dim=1, keepdim=True)
        h = self.encoder(h, src_key_padding_mask=~(mask | empty))
        if self.options.pooling == "mean":
            return h.mean(dim=1)
        return masked_mean(h, mask)

    def forward(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.head(self.embed(inputs, lengths))

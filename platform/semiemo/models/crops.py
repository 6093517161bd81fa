"""Fixed-width crops of padded sequences (paper 002: the networks see 128-frame crops).

Training takes one random crop per utterance; evaluation averages the softmax over crops with 50 %
overlap. Utterances shorter than the crop are repeated to fill it. Several groups of one utterance
(audio and face frames) are cropped at the same relative position, so a multimodal crop covers the
same stretch of time in each modality.
"""

from __future__ import annotations

import torch
from torch import nn


def _frame_index(lengths: torch.Tensor, max_len: int, width: int, position: torch.Tensor, pad_side: str) -> torch.Tensor:
    """[B, width] frame indices: a window starting at `position` ∈ [0, 1] of the free room, repeated if short."""
    if pad_side not in ("start", "end"):
        raise ValueError(f"pad_side must be 'start' or 'end', got {pad_side!r}")
    n = lengths.clamp(min=1, max=max_len).long()
    room = (n - width).clamp(min=0)
    start = torch.minimum((position * (room + 1).float()).floor().long(), room)
    idx = (start[:, None] + torch.arange(width, device=lengths.device)[None, :]) % n[:, None]
    return idx + (max_len - n)[:, None] if pad_side == "start" else idx


def crop_groups(inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor], width: int,
                position: torch.Tensor, pad_sides: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """Crop each [B, T, F] group to [B, width, F] at relative `position` [B] (0 = first frame, 1 = last window)."""
    out = {}
    for g, x in inputs.items():
        if x.dim() != 3:
            raise ValueError(f"group {g!r} has shape {list(x.shape)}; paper 002's networks need frame sequences "
                             "[B, T, F] (features such as fbank, stft, face)")
        ln = lengths.get(g, torch.full((len(x),), x.shape[1], device=x.device))
        idx = _frame_index(ln.to(x.device), x.shape[1], width, position, (pad_sides or {}).get(g, "end"))
        out[g] = torch.gather(x, 1, idx[:, :, None].expand(-1, -1, x.shape[2]))
    return out


def random_crops(inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor], width: int,
                 pad_sides: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """One random crop per utterance, at the same relative position in every group."""
    position = torch.rand(len(next(iter(inputs.values()))), device=next(iter(inputs.values())).device)
    return crop_groups(inputs, lengths, width, position, pad_sides)


def window_positions(inputs: dict[str, torch.Tensor], width: int) -> list[float]:
    """Relative positions of crops with 50 % overlap across the longest group (at least one: the start)."""
    longest = max(x.shape[1] for x in inputs.values())
    hop = max(1, width // 2)
    n = 1 + -(-(longest - width) // hop) if longest > width else 1  # ⌈room / hop⌉ further windows
    return [i / (n - 1) if n > 1 else 0.0 for i in range(n)]


def averaged_crop_logits(net: nn.Module, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor],
                         width: int, pad_sides: dict[str, str] | None = None) -> torch.Tensor:
    """log of the softmax averaged over 50 %-overlap crops: a logit vector whose softmax is that average.

    `net(crops)` returns (logits, features), as `models.dcgan.Critic` does.
    """
    device = next(iter(inputs.values())).device
    batch = len(next(iter(inputs.values())))
    positions = window_positions(inputs, width)
    probs = torch.zeros((), device=device)
    for p in positions:
        crops = crop_groups(inputs, lengths, width, torch.full((batch,), p, device=device), pad_sides)
        probs = probs + torch.softmax(net(crops)[0], dim=1)
    return torch.log(probs / len(positions) + 1e-12)


class CropClassifier(nn.Module):
    """A crop-level network (logits, features) used as an utterance classifier: logits of one random
    crop in training, the crop-averaged softmax (as logits) in evaluation."""

    def __init__(self, net: nn.Module, width: int, pad_sides: dict[str, str] | None = None) -> None:
        super().__init__()
        self.net, self.width, self.pad_sides = net, width, dict(pad_sides or {})

    def forward(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        if self.training:
            return self.net(random_crops(inputs, lengths or {}, self.width, self.pad_sides))[0]
        return averaged_crop_logits(self.net, inputs, lengths or {}, self.width, self.pad_sides)

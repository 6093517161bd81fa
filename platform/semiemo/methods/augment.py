"""Data augmentation for feature inputs, in one place.

Features arrive as `dict[str, Tensor]`; each group is treated by its rank:
- `[B, d]` utterance-level functionals (is10, egemaps, text, ...): Gaussian noise, dropout, random
  feature masking — there is no time axis, so "strong" means masking a random share of features;
- `[B, T, d]` sequences and spectrograms (fbank, stft, ...): weak = dropout / noise, strong =
  SpecAugment (Park et al. 2019) time and frequency masking, paper 003 §3.3.
Integer groups (token ids) pass through unchanged. All functions return new tensors; none mutate.
Masked values are set to 0, the mean of z-scored features. Given the valid lengths (and pad side,
`models.masking`), time masks fall inside each row's real frames, at most `p` of *its* length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from semiemo.models.masking import first_valid_frame

Inputs = dict[str, torch.Tensor]


# --- functionals on one tensor ----------------------------------------------------------------
def gaussian_noise(x: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """x + ε, ε ~ N(0, std²) (paper 000's augmentation for MixMatch; Laine & Aila's input noise)."""
    if std <= 0:
        return x
    return x + std * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout on the input features (paper 003's weak augmentation WA)."""
    if p <= 0:
        return x
    return F.dropout(x, p=p, training=True)


def random_feature_mask(x: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero a random `fraction` of feature dimensions per row (the last axis; across all frames)."""
    if fraction <= 0:
        return x
    keep_shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    keep = torch.rand(keep_shape, generator=generator, device=x.device) >= fraction
    return x * keep.to(x.dtype)


def _band_mask(batch: int, size: int, max_width: int, count: int, device: torch.device,
               generator: torch.Generator | None) -> torch.Tensor:
    """[batch, size] bool: `count` bands per row, each of width U{0..max_width} at a uniform start."""
    mask = torch.zeros(batch, size, dtype=torch.bool, device=device)
    positions = torch.arange(size, device=device).unsqueeze(0)
    max_width = min(max_width, size)
    for _ in range(count):
        width = torch.randint(0, max_width + 1, (batch, 1), generator=generator).to(device)
        start = (torch.rand((batch, 1), generator=generator).to(device) * (size - width + 1)).floor().long()
        mask |= (positions >= start) & (positions < start + width)
    return mask


def time_mask(x: torch.Tensor, max_width: int, count: int = 1, max_ratio: float = 1.0,
              generator: torch.Generator | None = None, lengths: torch.Tensor | None = None,
              pad_side: str = "end") -> torch.Tensor:
    """SpecAugment time masking of [B, T, d]: `count` spans of ≤ min(max_width, max_ratio·L) frames.

    L is each row's valid length (T without `lengths`); spans start inside the real frames."""
    if x.dim() != 3:
        raise ValueError(f"time masking needs [B, T, d], got shape {tuple(x.shape)}")
    if lengths is None:
        width = min(max_width, int(max_ratio * x.shape[1]))
        if width <= 0 or count <= 0:
            return x
        mask = _band_mask(x.shape[0], x.shape[1], width, count, x.device, generator)  # [B, T]
        return x.masked_fill(mask.unsqueeze(2), 0.0)
    if max_width <= 0 or count <= 0:
        return x
    t = x.shape[1]
    valid_len = lengths.to(x.device, torch.long).clamp(0, t).unsqueeze(1)                   # [B, 1]
    first = first_valid_frame(lengths.to(x.device), t, pad_side).unsqueeze(1)              # [B, 1]
    widest = torch.minimum(torch.full_like(valid_len, max_width), (max_ratio * valid_len).floor().long())
    positions = torch.arange(t, device=x.device).unsqueeze(0)
    mask = torch.zeros(x.shape[0], t, dtype=torch.bool, device=x.device)
    for _ in range(count):
        width = (torch.rand((x.shape[0], 1), generator=generator).to(x.device) * (widest + 1)).floor().long()
        offset = (torch.rand((x.shape[0], 1), generator=generator).to(x.device) * (valid_len - width + 1)).floor().long()
        start = first + offset
        mask |= (positions >= start) & (positions < start + width)
    return x.masked_fill(mask.unsqueeze(2), 0.0)


def frequency_mask(x: torch.Tensor, max_width: int, count: int = 1,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """SpecAugment frequency masking of [B, T, d]: `count` bands of ≤ max_width channels, all frames."""
    if x.dim() != 3:
        raise ValueError(f"frequency masking needs [B, T, d], got shape {tuple(x.shape)}")
    if max_width <= 0 or count <= 0:
        return x
    mask = _band_mask(x.shape[0], x.shape[2], max_width, count, x.device, generator)  # [B, d]
    return x.masked_fill(mask.unsqueeze(1), 0.0)


# --- policies on a dict of feature groups -----------------------------------------------------
@dataclass(frozen=True)
class StrongAugmentation:
    """SpecAugment's LD policy (Park et al. 2019, Table 1) for sequences; feature masking for vectors."""

    freq_mask_width: int = field(default=27, metadata={"doc": "F: widest frequency mask (channels), SpecAugment LD"})
    freq_masks: int = field(default=2, metadata={"doc": "m_F: frequency masks per example, SpecAugment LD"})
    time_mask_width: int = field(default=100, metadata={"doc": "T: widest time mask (frames), SpecAugment LD"})
    time_masks: int = field(default=2, metadata={"doc": "m_T: time masks per example, SpecAugment LD"})
    time_mask_ratio: float = field(default=0.2, metadata={"doc": "p: a time mask covers at most p·T frames, SpecAugment LD"})
    vector_mask_fraction: float = field(default=0.3, metadata={
        "doc": "share of features masked in [B, d] groups; ≈ the share LD masks of 80 bins (2·13.5/80)"})


def add_noise(inputs: Inputs, std: float) -> Inputs:
    """Gaussian noise on every floating group."""
    return {k: gaussian_noise(v, std) if v.is_floating_point() else v for k, v in inputs.items()}


def weak(inputs: Inputs, dropout_p: float) -> Inputs:
    """Paper 003's weak view WA: dropout on the input features, vectors and sequences alike."""
    return {k: dropout(v, dropout_p) if v.is_floating_point() else v for k, v in inputs.items()}


def strong(inputs: Inputs, policy: StrongAugmentation = StrongAugmentation(),
           lengths: dict[str, torch.Tensor] | None = None, pad_sides: dict[str, str] | None = None) -> Inputs:
    """Paper 003's strong view SA: SpecAugment on [B, T, d]; random feature masking on [B, d].

    With `lengths` (and `pad_sides` for head-padded groups) time masks stay on real frames."""
    lengths, pad_sides = lengths or {}, pad_sides or {}
    out: Inputs = {}
    for name, x in inputs.items():
        if not x.is_floating_point():
            out[name] = x
        elif x.dim() == 3:
            x = frequency_mask(x, policy.freq_mask_width, policy.freq_masks)
            out[name] = time_mask(x, policy.time_mask_width, policy.time_masks, policy.time_mask_ratio,
                                  lengths=lengths.get(name), pad_side=pad_sides.get(name, "end"))
        else:
            out[name] = random_feature_mask(x, policy.vector_mask_fraction)
    return out

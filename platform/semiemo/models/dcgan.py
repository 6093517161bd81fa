"""DCGAN generator and discriminator over T×F feature maps (paper 002 §III, Fig. 2).

One sample is a 1-channel map of `frames` (the crop width, 128) × F features (128 for Fbank/FFT,
342 for Dface). Strided 5×5 convolutions halve both sides, so F is zero-padded to F' = 16·⌈F/16⌉
inside the discriminator (342 → 352) and the generator's F' output is cropped back to F.

- Generator: z ∈ R^noise_dim → Linear → 512×(T/16)×(F'/16) → ConvT 512→256→128→64→1 (k5, s2), BN +
  ReLU between, linear output (unlabeled features may be unnormalized).
- Discriminator trunk: Conv 1→128→256→512→1024 (k5, s2), each weight-normed, LeakyReLU(0.2),
  Dropout(0.2); no BatchNorm (the consistency term's two dropout passes and feature matching need
  per-sample statistics). Its flattened output is D_, the penultimate layer.
- `Critic`: one trunk per modality, D_ = their concatenation, and one weight-normed FC to K logits
  (paper 002's D head for one modality, its fusion classifier C for several).

`width_scale` multiplies every channel count (1 = the paper); small values make CPU tests and
quick analyses affordable.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

D_CHANNELS = (128, 256, 512, 1024)  # paper 002 §IV-B
G_CHANNELS = (512, 256, 128, 64)    # paper 002 §IV-B
KERNEL, STRIDE, PAD = 5, 2, 2


def padded_width(features: int) -> int:
    """F' = 16·⌈F/16⌉: four stride-2 layers need a multiple of 16 (Dface 342 → 352)."""
    return 16 * math.ceil(features / 16)


def scaled(channels: tuple[int, ...], width_scale: float) -> tuple[int, ...]:
    if width_scale <= 0:
        raise ValueError(f"width_scale must be > 0 (1 = paper 002's channels), got {width_scale}")
    return tuple(max(1, round(c * width_scale)) for c in channels)


def _check_frames(frames: int) -> None:
    if frames < 16 or frames % 16:
        raise ValueError(f"crop width {frames} frames must be a positive multiple of 16 (four stride-2 layers); "
                         "paper 002 uses 128")


class DiscriminatorTrunk(nn.Module):
    """[B, T, F] → D_ [B, out_dim]: the conv stack up to the flattened penultimate layer."""

    def __init__(self, frames: int, features: int, width_scale: float = 1.0, dropout: float = 0.2,
                 leaky_slope: float = 0.2) -> None:
        super().__init__()
        _check_frames(frames)
        self.frames, self.features, self.padded = frames, features, padded_width(features)
        layers: list[nn.Module] = []
        c_in = 1
        for c_out in scaled(D_CHANNELS, width_scale):
            layers += [weight_norm(nn.Conv2d(c_in, c_out, KERNEL, STRIDE, PAD)), nn.LeakyReLU(leaky_slope), nn.Dropout(dropout)]
            c_in = c_out
        self.convs = nn.Sequential(*layers)
        self.out_dim = c_in * (frames // 16) * (self.padded // 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] != (self.frames, self.features):
            raise ValueError(f"discriminator expects [B, {self.frames}, {self.features}], got {list(x.shape)}")
        x = F.pad(x, (0, self.padded - self.features)).unsqueeze(1)
        return self.convs(x).flatten(1)


class Generator(nn.Module):
    """z [B, noise_dim] → fake map [B, T, F]."""

    def __init__(self, frames: int, features: int, noise_dim: int = 100, width_scale: float = 1.0) -> None:
        super().__init__()
        _check_frames(frames)
        self.frames, self.features, self.padded = frames, features, padded_width(features)
        chans = scaled(G_CHANNELS, width_scale)
        self.start = (chans[0], frames // 16, self.padded // 16)
        self.project = nn.Sequential(nn.Linear(noise_dim, math.prod(self.start)), nn.BatchNorm1d(math.prod(self.start)),
                                     nn.ReLU())
        layers: list[nn.Module] = []
        for c_in, c_out in zip(chans, chans[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, KERNEL, STRIDE, PAD, output_padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
        layers.append(nn.ConvTranspose2d(chans[-1], 1, KERNEL, STRIDE, PAD, output_padding=1))  # linear output
        self.deconvs = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(len(z), *self.start)
        return self.deconvs(x)[:, 0, :, : self.features]


class Critic(nn.Module):
    """Per-modality trunks + one FC over their concatenated D_ → (K logits, D_).

    One group: paper 002's discriminator. Several: MSSGAN's D_a, D_v trunks and fusion classifier C.
    """

    def __init__(self, widths: dict[str, int], frames: int, num_classes: int, width_scale: float = 1.0,
                 dropout: float = 0.2, leaky_slope: float = 0.2) -> None:
        super().__init__()
        self.groups = tuple(widths)
        self.trunks = nn.ModuleDict({g: DiscriminatorTrunk(frames, f, width_scale, dropout, leaky_slope) for g, f in widths.items()})
        self.feature_dim = sum(t.out_dim for t in self.trunks.values())
        self.head = weight_norm(nn.Linear(self.feature_dim, num_classes))

    def forward(self, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.cat([self.trunks[g](inputs[g]) for g in self.groups], dim=1)
        return self.head(h), h


class Generators(nn.Module):
    """One generator per modality, all fed the same z (paper 002 §III-C: one noise vector)."""

    def __init__(self, widths: dict[str, int], frames: int, noise_dim: int = 100, width_scale: float = 1.0) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.nets = nn.ModuleDict({g: Generator(frames, f, noise_dim, width_scale) for g, f in widths.items()})

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {g: net(z) for g, net in self.nets.items()}

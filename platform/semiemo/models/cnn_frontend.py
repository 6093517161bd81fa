"""Paper 004's AV-SpNET networks: the CNN spectrogram front-end, its pre-training heads, the
recognition network that sits on the frozen front-end, and the per-utterance majority vote.

Shapes with the paper's 200 x 80 segment and 2 x 2 pooling (spec avspnet §1.3):
  encoder   stage k: Conv 3x3 pad 1 + BN + ReLU, Conv 3x3 pad 0 + BN + ReLU, MaxPool p x p
            1x200x80 -> 32x99x39 -> 32x48x18 -> flatten 27,648
  shared    FC 1024, ReLU                                         (pre-training only)
  recon     FC 256 (latent) -> FC 1024 -> FC 27,648 -> reshape -> per stage, mirrored: nearest
            upsample to the pre-pool size, ConvT 3x3 pad 0 (+2), ConvT 3x3 pad 1; BN + ReLU on
            each -> Conv 1@3x3 pad 1, linear output                -> 1x200x80
  proxy     FC 512 -> FC 128 (ReLU) -> 1 logit (sigmoid in the loss)
  recognizer (fine-tuning) frozen encoder -> FC 1024 -> 512 -> 128 (ReLU) -> Dropout -> Linear(K)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class FrontEndConfig:
    """Sizes of the AV-SpNET networks (paper 004 §2.2; unstated ones from spec avspnet §5)."""

    bins: int = field(default=200, metadata={"doc": "frequency bins of a segment (paper 004: 200, 0-4 kHz)"})
    frames: int = field(default=80, metadata={"doc": "frames of a segment (paper 004: 80 = 810 ms)"})
    channels: int = field(default=32, metadata={"doc": "kernels per conv layer (paper 004: 32)"})
    stages: int = field(default=2, metadata={"doc": "conv stages (paper 004: 2)"})
    pool_size: int = field(default=2, metadata={"doc": "max-pool size and stride (paper ambiguous; spec §5.2: 2)"})
    shared_dim: int = field(default=1024, metadata={"doc": "shared FC after the encoder (paper 004: 1024)"})
    latent_dim: int = field(default=256, metadata={"doc": "auto-encoder bottleneck (paper 004: 256)"})
    proxy_hidden: tuple[int, ...] = field(default=(512, 128), metadata={"doc": "proxy branch FC widths (paper 004: 512, 128)"})

    def stage_sizes(self) -> list[tuple[int, int]]:
        """(F, T) after each stage: conv pad 1 keeps, conv pad 0 takes 2, pool divides (floor)."""
        sizes, (f, t) = [], (self.bins, self.frames)
        for _ in range(self.stages):
            f, t = (f - 2) // self.pool_size, (t - 2) // self.pool_size
            if f < 1 or t < 1:
                raise ValueError(f"a {self.bins}x{self.frames} segment is too small for {self.stages} stages "
                                 f"with pool {self.pool_size}; use fewer stages or a smaller pool_size")
            sizes.append((f, t))
        return sizes

    @property
    def flat_dim(self) -> int:
        f, t = self.stage_sizes()[-1]
        return self.channels * f * t


def _conv_bn_relu(cin: int, cout: int, padding: int, transpose: bool = False) -> list[nn.Module]:
    conv = (nn.ConvTranspose2d if transpose else nn.Conv2d)(cin, cout, 3, padding=padding)
    return [conv, nn.BatchNorm2d(cout), nn.ReLU()]


class SpectrogramEncoder(nn.Module):
    """The conv stages: [B, 1, F, T] (or [B, F, T]) -> [B, flat_dim]. This is what fine-tuning freezes."""

    def __init__(self, cfg: FrontEndConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for _ in range(cfg.stages):
            layers += _conv_bn_relu(cin, cfg.channels, 1) + _conv_bn_relu(cfg.channels, cfg.channels, 0)
            layers.append(nn.MaxPool2d(cfg.pool_size))
            cin = cfg.channels
        self.net = nn.Sequential(*layers)
        self.cfg = cfg

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return self.net(x).flatten(1)


class SpectrogramDecoder(nn.Module):
    """Mirror of the encoder: [B, flat_dim] -> [B, 1, F, T] (spec §5.3: nearest upsampling to the pre-pool size)."""

    def __init__(self, cfg: FrontEndConfig) -> None:
        super().__init__()
        self.cfg = cfg
        sizes = [(cfg.bins, cfg.frames)] + cfg.stage_sizes()
        self.unflatten = (cfg.channels, *sizes[-1])
        # pre-pool size of stage k is its input size minus 2 (the pad-0 conv)
        self.pre_pool = [(f - 2, t - 2) for f, t in reversed(sizes[:-1])]
        self.blocks = nn.ModuleList(
            nn.Sequential(*_conv_bn_relu(cfg.channels, cfg.channels, 0, transpose=True),
                          *_conv_bn_relu(cfg.channels, cfg.channels, 1, transpose=True))
            for _ in range(cfg.stages))
        self.out = nn.Conv2d(cfg.channels, 1, 3, padding=1)  # one filter, linear output

    def forward(self, flat: torch.Tensor) -> torch.Tensor:
        x = flat.view(flat.shape[0], *self.unflatten)
        for size, block in zip(self.pre_pool, self.blocks):
            x = block(F.interpolate(x, size=size, mode="nearest"))
        return self.out(x)


class PretrainNetwork(nn.Module):
    """Encoder + shared FC + reconstruction branch + proxy branch (paper 004 Fig. 1).

    `forward(x)` -> (reconstruction [B, 1, F, T], proxy logit [B]).
    """

    def __init__(self, cfg: FrontEndConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = SpectrogramEncoder(cfg)
        self.shared = nn.Sequential(nn.Linear(cfg.flat_dim, cfg.shared_dim), nn.ReLU())
        self.to_flat = nn.Sequential(
            nn.Linear(cfg.shared_dim, cfg.latent_dim), nn.ReLU(),
            nn.Linear(cfg.latent_dim, cfg.shared_dim), nn.ReLU(),
            nn.Linear(cfg.shared_dim, cfg.flat_dim), nn.ReLU())
        self.decoder = SpectrogramDecoder(cfg)
        proxy: list[nn.Module] = []
        width = cfg.shared_dim
        for h in cfg.proxy_hidden:
            proxy += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.proxy = nn.Sequential(*proxy, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.shared(self.encoder(x))
        return self.decoder(self.to_flat(h)), self.proxy(h).squeeze(1)


class RecognitionNetwork(nn.Module):
    """Front-end encoder (frozen unless told otherwise) -> FC 1024 -> 512 -> 128 -> Dropout -> Linear(K).

    A frozen encoder has requires_grad off and stays in eval mode (BN uses its running statistics)
    even when the network is put in training mode.
    """

    def __init__(self, cfg: FrontEndConfig, num_classes: int, hidden: tuple[int, ...] = (1024, 512, 128),
                 dropout: float = 0.5, freeze_encoder: bool = True) -> None:
        super().__init__()
        self.encoder = SpectrogramEncoder(cfg)
        layers: list[nn.Module] = []
        width = cfg.flat_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.head = nn.Sequential(*layers, nn.Dropout(dropout), nn.Linear(width, num_classes))
        self.freeze_encoder = freeze_encoder
        if freeze_encoder:
            self.encoder.requires_grad_(False)
            self.encoder.eval()

    def train(self, mode: bool = True) -> "RecognitionNetwork":
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()
        return self

    def forward(self, segments: torch.Tensor) -> torch.Tensor:
        """[n, F, T] segments -> [n, K] logits."""
        if self.freeze_encoder:
            with torch.no_grad():
                code = self.encoder(segments)
        else:
            code = self.encoder(segments)
        return self.head(code)


def valid_segments(segments: torch.Tensor, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, S, F, T] + valid counts [B] -> the valid segments [n, F, T] and each one's utterance row [n]."""
    s = segments.shape[1]
    counts = counts.to(segments.device).long().clamp(min=1, max=s)  # an utterance has at least one segment
    mask = torch.arange(s, device=segments.device)[None, :] < counts[:, None]
    rows = torch.arange(segments.shape[0], device=segments.device)[:, None].expand(-1, s)
    return segments[mask], rows[mask]


def majority_vote(segment_proba: torch.Tensor, utterance: torch.Tensor, num_utterances: int) -> torch.Tensor:
    """Utterance class scores [U, K]: votes of its segments' argmax, ties broken by mean probability.

    Score = votes + mean probability / 2: the mean probability is in [0, 1), so it only orders
    classes with equal vote counts (spec avspnet §5.14). argmax of the result is the voted class.
    """
    k = segment_proba.shape[1]
    votes = torch.zeros(num_utterances, k, device=segment_proba.device)
    votes.index_add_(0, utterance, F.one_hot(segment_proba.argmax(1), k).float())
    prob_sum = torch.zeros(num_utterances, k, device=segment_proba.device).index_add_(0, utterance, segment_proba)
    n = torch.bincount(utterance, minlength=num_utterances).clamp(min=1).float()[:, None]
    return votes + 0.5 * prob_sum / n

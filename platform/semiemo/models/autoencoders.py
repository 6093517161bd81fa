"""Per-modality deep auto-encoders of paper 001 (CMDM), each with a 128-d latent z^m.

- `LinearDAE`: utterance-level vectors (IS10, 1582-d): 1582 -> 512 -> 256 -> 128, mirrored decoder.
- `SequenceDAE`: a [T, E] sequence (faces 18x342, words 22x1024): transformer encoder (no embedding
  layer, sinusoidal positions) -> the sequence as a 1xTxE image -> strided Conv2d stack -> flatten ->
  Linear(s) -> z; the decoder mirrors it (Linear -> reshape -> ConvTranspose2d stack -> self-attention
  transformer blocks -> Linear(E, E)) and reconstructs the time-reversed input (Srivastava et al.).

Sizes are computed from the input shape by a dummy forward pass, so MiniLM's 384-d tokens, 12- or
32-token sequences and odd lengths work: each ConvTranspose2d gets the output_padding that restores the
size its mirror conv floored away. Choices the paper leaves open follow the spec (§5: h=3 for 342-d,
self-attention-only decoder, FFN 2048, dropout 0.1, ReLU hidden, linear latent and output).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

# (out_channels, kernel, stride, padding) per Conv2d, paper 001 Table 3
VISUAL_CONVS: tuple[tuple[int, int, int, int], ...] = ((16, 4, 2, 1), (64, 5, 2, 1), (32, 3, 3, 1))
LEXICAL_CONVS: tuple[tuple[int, int, int, int], ...] = ((64, 4, 2, 1), (4, 4, 3, 1))
VISUAL_LINEAR: tuple[int, ...] = ()      # flatten -> 128
LEXICAL_LINEAR: tuple[int, ...] = (512,)  # flatten -> 512 -> 128


def heads_dividing(dim: int, wanted: int) -> int:
    """The largest head count <= `wanted` that divides `dim` (spec §5: 342-d faces take h=3, not 4)."""
    for h in range(max(1, wanted), 0, -1):
        if dim % h == 0:
            return h
    return 1


def _mlp(widths: Sequence[int]) -> nn.Sequential:
    """Linear layers through `widths`, ReLU between them, none after the last (linear latent/output)."""
    layers: list[nn.Module] = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class LinearDAE(nn.Module):
    """Utterance-level DAE: in -> 512 -> 256 -> latent, decoder latent -> 256 -> 512 -> in (target = input)."""

    reversed_target = False

    def __init__(self, in_dim: int, hidden: Sequence[int] = (512, 256), latent: int = 128) -> None:
        super().__init__()
        if in_dim <= 0:
            raise ValueError(f"LinearDAE input dimension must be positive, got {in_dim}")
        widths = [int(in_dim), *map(int, hidden), int(latent)]
        self.encoder = _mlp(widths)
        self.decoder = _mlp(widths[::-1])
        self.latent = int(latent)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return z, self.decode(z)


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """[length, dim] sinusoidal position encoding (Vaswani et al.); odd dims handled."""
    pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return pe


def _transformer(dim: int, heads: int, blocks: int, ffn: int, dropout: float) -> nn.Module:
    """`blocks` self-attention blocks; 0 gives the identity (conv-only DAE: a cheap quick-run setting)."""
    if blocks < 0:
        raise ValueError(f"transformer blocks must be >= 0, got {blocks}")
    if blocks == 0:
        return nn.Identity()
    layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=ffn, dropout=dropout, batch_first=True)
    return nn.TransformerEncoder(layer, blocks, enable_nested_tensor=False)


class SequenceDAE(nn.Module):
    """Transformer + conv DAE for a [T, E] sequence; the decoder reconstructs flip(x, time)."""

    reversed_target = True

    def __init__(self, seq_len: int, dim: int, convs: Sequence[tuple[int, int, int, int]] = VISUAL_CONVS,
                 linear: Sequence[int] = VISUAL_LINEAR, latent: int = 128, heads: int = 4, blocks: int = 2,
                 ffn: int = 2048, dropout: float = 0.1) -> None:
        super().__init__()
        if seq_len <= 0 or dim <= 0:
            raise ValueError(f"SequenceDAE needs a positive [T, E] shape, got [{seq_len}, {dim}]")
        self.seq_len, self.dim, self.latent = int(seq_len), int(dim), int(latent)
        h = heads_dividing(self.dim, heads)
        self.register_buffer("positions", sinusoidal_positions(self.seq_len, self.dim), persistent=False)
        self.encoder_transformer = _transformer(self.dim, h, blocks, ffn, dropout)
        conv_layers: list[nn.Module] = []
        deconv_specs = []
        channels = 1
        for out_ch, k, s, p in convs:
            conv_layers += [nn.Conv2d(channels, out_ch, k, s, p), nn.ReLU()]
            deconv_specs.append((out_ch, channels, k, s, p))
            channels = out_ch
        self.convs = nn.Sequential(*conv_layers)
        # dummy forward: the map size after each conv (what each mirror ConvTranspose2d must restore)
        sizes = [(self.seq_len, self.dim)]
        with torch.no_grad():
            x = torch.zeros(1, 1, self.seq_len, self.dim)
            for layer in self.convs:
                try:
                    x = layer(x)
                except RuntimeError as e:
                    raise ValueError(f"input [{seq_len}, {dim}] is too small for the conv stack {list(convs)}: {e}") from e
                if isinstance(layer, nn.Conv2d):
                    if min(x.shape[-2:]) < 1:
                        raise ValueError(f"input [{seq_len}, {dim}] is too small for the conv stack {list(convs)}")
                    sizes.append(tuple(x.shape[-2:]))
        self.map_shape = tuple(x.shape[1:])  # (C, H, W) before flattening
        flat = int(math.prod(self.map_shape))
        self.encoder_linear = _mlp([flat, *map(int, linear), self.latent])
        self.decoder_linear = nn.Sequential(_mlp([self.latent, *map(int, linear[::-1]), flat]), nn.ReLU())
        deconvs: list[nn.Module] = []
        for i, (in_ch, out_ch, k, s, p) in reversed(list(enumerate(deconv_specs))):
            (hi, wi), (ho, wo) = sizes[i + 1], sizes[i]
            pad = tuple(target - ((n - 1) * s - 2 * p + k) for n, target in ((hi, ho), (wi, wo)))
            if not all(0 <= q < s for q in pad):
                raise ValueError(f"cannot mirror conv (k={k}, s={s}, p={p}) from {sizes[i + 1]} back to {sizes[i]}")
            deconvs.append(nn.ConvTranspose2d(in_ch, out_ch, k, s, p, output_padding=pad))
            if i > 0:
                deconvs.append(nn.ReLU())
        self.deconvs = nn.Sequential(*deconvs)
        self.decoder_transformer = _transformer(self.dim, h, blocks, ffn, dropout)  # self-attention only (spec §5.4)
        self.output = nn.Linear(self.dim, self.dim)
        self.heads = h

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or tuple(x.shape[1:]) != (self.seq_len, self.dim):
            raise ValueError(f"SequenceDAE built for [B, {self.seq_len}, {self.dim}] got {list(x.shape)}")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        h = self.encoder_transformer(x + self.positions)
        return self.encoder_linear(self.convs(h.unsqueeze(1)).flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        maps = self.decoder_linear(z).view(-1, *self.map_shape)
        seq = self.deconvs(maps).squeeze(1)
        return self.output(self.decoder_transformer(seq + self.positions))

    @staticmethod
    def target(x: torch.Tensor) -> torch.Tensor:
        """The reversed reconstruction target flip(x, time), padding included (spec §5.7)."""
        return torch.flip(x, dims=[1])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return z, self.decode(z)


def build_dae(shape: Sequence[int], kind: str = "lexical", latent: int = 128, **kwargs) -> nn.Module:
    """The DAE for a per-row input `shape`: [d] -> LinearDAE; [T, E] -> SequenceDAE with the paper's
    visual or lexical conv stack (`kind`)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        return LinearDAE(shape[0], latent=latent)
    if len(shape) == 2:
        presets = {"visual": (VISUAL_CONVS, VISUAL_LINEAR), "lexical": (LEXICAL_CONVS, LEXICAL_LINEAR)}
        if kind not in presets:
            raise ValueError(f"unknown sequence DAE kind {kind!r}; allowed: {sorted(presets)}")
        convs, linear = presets[kind]
        return SequenceDAE(shape[0], shape[1], convs, linear, latent=latent, **kwargs)
    raise ValueError(f"no DAE for input shape {list(shape)}: give [d] (utterance-level) or [T, E] (a sequence)")


def reconstruction_target(dae: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What `dae` reconstructs: the input, or its time reversal for sequence DAEs."""
    return torch.flip(x, dims=[1]) if getattr(dae, "reversed_target", False) else x

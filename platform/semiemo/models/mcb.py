"""Multimodal compact bilinear pooling (paper 000 eq. 2-6, after Fukui et al. 2016).

The outer product h_a ⊗ h_tc of two codes (n1·n2 numbers) is approximated in d dimensions:
count-sketch each code, Φ(x, h, s)[j] = Σ_{i: h[i] = j} s[i]·x[i] (eq. 3-4), then convolve the two
sketches circularly, done as a product of FFTs (eq. 5-6):

    MCB(h_a, h_tc) = IFFT(FFT(Φ(h_a, h1, s1)) ⊙ FFT(Φ(h_tc, h2, s2)))

The hash h and sign s of each input are drawn once at construction and kept as fixed, non-trainable
buffers (saved in checkpoints, never updated). Paper 000 writes a single (h, s); the identity
⟨Φ(x) * Φ(y)⟩ = Φ(x ⊗ y) with hash (h1 + h2) mod d and sign s1·s2 needs one independent pair per input,
so each input gets its own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CountSketch(nn.Module):
    """Φ(x, h, s): [B, n] -> [B, d], y[:, h[i]] += s[i]·x[:, i], with h, s fixed at construction."""

    def __init__(self, in_dim: int, out_dim: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if in_dim <= 0 or out_dim <= 0:
            raise ValueError(f"count sketch needs positive dimensions, got in_dim={in_dim}, out_dim={out_dim}")
        self.in_dim, self.out_dim = int(in_dim), int(out_dim)
        self.register_buffer("hash", torch.randint(0, out_dim, (in_dim,), generator=generator))          # h ∈ {0..d-1}^n
        self.register_buffer("sign", torch.randint(0, 2, (in_dim,), generator=generator).float() * 2 - 1)  # s ∈ {±1}^n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_dim:
            raise ValueError(f"count sketch expects {self.in_dim} features, got {x.shape[-1]}")
        out = x.new_zeros(x.shape[0], self.out_dim)
        return out.index_add_(1, self.hash, x * self.sign.to(x.dtype))


def circular_convolution(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(a * b)[k] = Σ_j a[j]·b[(k − j) mod d], row-wise, via rfft/irfft of length d."""
    d = a.shape[-1]
    return torch.fft.irfft(torch.fft.rfft(a, n=d) * torch.fft.rfft(b, n=d), n=d)


class CompactBilinearPooling(nn.Module):
    """h = MCB(x, y) ∈ R^d (paper 000 eq. 2-6), d = 2048 in the paper.

    `signed_sqrt_l2`: Fukui et al.'s signed square root and L2 normalisation of the pooled vector;
    paper 000 does not mention it (spec ambiguity 4: on by default for stability, reported).
    """

    def __init__(self, x_dim: int, y_dim: int, out_dim: int = 2048, signed_sqrt_l2: bool = True,
                 seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(int(seed))  # the hashes are part of the architecture: seeded
        self.sketch_x = CountSketch(x_dim, out_dim, g)  # (h1, s1)
        self.sketch_y = CountSketch(y_dim, out_dim, g)  # (h2, s2), drawn after (h1, s1): independent
        self.out_dim = int(out_dim)
        self.signed_sqrt_l2 = signed_sqrt_l2

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = circular_convolution(self.sketch_x(x), self.sketch_y(y))
        if self.signed_sqrt_l2:
            h = F.normalize(torch.sign(h) * torch.sqrt(h.abs() + 1e-12), dim=-1)
        return h

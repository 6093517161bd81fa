"""The mathematics the semi-supervised methods share, written once and called by name.

Sharpening and MixUp are paper 000's eq. 8-12 (after MixMatch, Berthelot et al. 2019); the ramp-ups,
the EMA and the temporal-ensemble bias correction come from Laine & Aila (2017) and Tarvainen &
Valpola (2017); the confidence mask is paper 003's eq. 4 (after FixMatch, Sohn et al. 2020).
Pure functions of tensors: no module state, no randomness except through an explicit generator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

Tensors = torch.Tensor | dict[str, torch.Tensor]


def sharpen(p: torch.Tensor, temperature: float) -> torch.Tensor:
    """Sharpen(q, T) = q^(1/T) / Σ_j q_j^(1/T), row-wise (paper 000 eq. 8).

    Computed as softmax(log q / T) so that T close to 0 does not underflow to 0/0.
    """
    if temperature <= 0:
        raise ValueError(f"sharpening temperature T must be > 0, got {temperature}")
    return torch.softmax(torch.log(p.clamp_min(1e-12)) / temperature, dim=-1)


def sample_mixup_lambda(alpha: float, generator: torch.Generator | None = None) -> float:
    """λ ~ Beta(α, α) then λ' = max(λ, 1 − λ) (paper 000 eq. 9-10), so a mix resembles its first input."""
    if alpha <= 0:
        raise ValueError(f"MixUp α must be > 0, got {alpha}")
    # torch.distributions.Beta takes no generator; with one given, draw from it (reproducible runs).
    if generator is None:
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
    else:
        lam = _beta_from_generator(alpha, generator)
    return max(lam, 1.0 - lam)


def _beta_from_generator(alpha: float, generator: torch.Generator) -> float:
    """Beta(α, α) by Jöhnk's rejection method, using only uniforms from `generator` (reproducible)."""
    while True:
        u, v = torch.rand(2, generator=generator, dtype=torch.float64).tolist()
        x, y = u ** (1.0 / alpha), v ** (1.0 / alpha)
        if 0.0 < x + y <= 1.0:
            return x / (x + y)


def mixup(x1: Tensors, y1: torch.Tensor, x2: Tensors, y2: torch.Tensor, lam: float) -> tuple[Tensors, torch.Tensor]:
    """x' = λ'x1 + (1−λ')x2, p' = λ'p1 + (1−λ')p2 (paper 000 eq. 10-12), with λ' = max(λ, 1−λ).

    `x` may be a tensor or a dict of feature groups (each floating group mixed with the same λ').
    """
    lam = max(lam, 1.0 - lam)
    if isinstance(x1, dict):
        mixed = {k: lam * x1[k] + (1.0 - lam) * x2[k] if x1[k].is_floating_point() else x1[k] for k in x1}
    else:
        mixed = lam * x1 + (1.0 - lam) * x2
    return mixed, lam * y1 + (1.0 - lam) * y2


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """H(p, softmax(logits)) = −Σ_c p_c log q_c per row; targets are distributions (one-hot or soft)."""
    per_row = -(targets * F.log_softmax(logits, dim=-1)).sum(dim=-1)
    if reduction == "none":
        return per_row
    if reduction == "mean":
        return per_row.mean()
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def squared_l2_per_class(probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(1 / (L·|B|)) Σ ||q − p||² — paper 000 eq. 21; also the π-model / mean-teacher consistency."""
    return ((probs - targets) ** 2).mean()


def confidence_mask(probs: torch.Tensor, threshold: float) -> torch.Tensor:
    """1{max_c p_c > τ} as a float mask [B] (paper 003 eq. 4)."""
    return (probs.max(dim=-1).values > threshold).to(probs.dtype)


def sigmoid_rampup(progress: float, length: float) -> float:
    """exp(−5 (1 − t)²) with t = progress / length clipped to [0, 1] (Laine & Aila 2017, §3.1)."""
    if length <= 0:
        return 1.0
    t = min(max(progress / length, 0.0), 1.0)
    return float(math.exp(-5.0 * (1.0 - t) ** 2))


def linear_rampup(progress: float, length: float) -> float:
    """t = progress / length clipped to [0, 1] (MixMatch's λ_U ramp; Lee 2013's α(t))."""
    if length <= 0:
        return 1.0
    return float(min(max(progress / length, 0.0), 1.0))


@torch.no_grad()
def ema_update(target: nn.Module, source: nn.Module, decay: float) -> None:
    """θ' ← α θ' + (1 − α) θ for parameters; floating buffers likewise, other buffers copied.

    Parameters are paired in registration order, so `source` may be a DDP wrapper of the module
    `target` was copied from.
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"EMA decay must lie in [0, 1], got {decay}")
    for t, s in zip(target.parameters(), source.parameters(), strict=True):
        t.mul_(decay).add_(s.detach(), alpha=1.0 - decay)
    for t, s in zip(target.buffers(), source.buffers(), strict=True):
        if t.is_floating_point():
            t.mul_(decay).add_(s.detach(), alpha=1.0 - decay)
        else:
            t.copy_(s)


def ensemble_update(ensemble: torch.Tensor, predictions: torch.Tensor, decay: float) -> torch.Tensor:
    """Z ← α Z + (1 − α) z (Laine & Aila 2017, Alg. 2)."""
    return decay * ensemble + (1.0 - decay) * predictions


def bias_corrected(ensemble: torch.Tensor, decay: float, updates: torch.Tensor) -> torch.Tensor:
    """z̃ = Z / (1 − α^t): undoes the start-up bias of an EMA begun at zero, per row (t = its updates).

    Rows never updated (t = 0) return zeros, not 0/0.
    """
    t = updates.to(ensemble.dtype).unsqueeze(-1)
    denom = 1.0 - torch.pow(torch.as_tensor(decay, dtype=ensemble.dtype, device=ensemble.device), t)
    return torch.where(t > 0, ensemble / denom.clamp_min(1e-12), torch.zeros_like(ensemble))


def concat_inputs(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Row-stack two input dicts group by group (one forward pass over labeled + unlabeled rows)."""
    if set(first) != set(second):
        raise ValueError(f"labeled and unlabeled batches carry different feature groups: {sorted(first)} vs {sorted(second)}")
    return {k: torch.cat([first[k], second[k]], dim=0) for k in first}


def training_progress(step: int, total_steps: int) -> float:
    """Share of the optimizer-step budget done, in [0, 1]: ramp-ups are defined on it."""
    return min(max(step / max(total_steps, 1), 0.0), 1.0)


def mixmatch_batch(inputs: dict[str, torch.Tensor], targets: torch.Tensor, lengths: dict[str, torch.Tensor],
                   views: list[dict[str, torch.Tensor]], view_lengths: dict[str, torch.Tensor], guess: torch.Tensor,
                   mixup_alpha: float) -> tuple[dict[str, torch.Tensor], torch.Tensor, dict[str, torch.Tensor], float]:
    """MixMatch's batch (paper 000 eq. 13-17): W = X' ‖ Û_1..Û_K with targets p ‖ q, shuffled, then
    MixUp of X' ‖ Û with W. Returns (mixed inputs, mixed targets, mixed lengths, λ'); the first
    len(X') rows are the labeled ones. A mixed sequence is valid wherever either source was."""
    for view in views:
        inputs = concat_inputs(inputs, view)
        lengths = concat_inputs(lengths, view_lengths)
        targets = torch.cat([targets, guess], dim=0)
    shuffle = torch.randperm(len(targets), device=targets.device)                 # W, eq. 15
    lam = sample_mixup_lambda(mixup_alpha) if mixup_alpha > 0 else 1.0             # λ', eq. 9-10
    mixed_inputs, mixed_targets = mixup(inputs, targets, {k: v[shuffle] for k, v in inputs.items()},
                                        targets[shuffle], lam)                     # X'', U'': eq. 11-12, 16-17
    mixed_lengths = lengths if lam == 1.0 else {k: torch.maximum(v, v[shuffle]) for k, v in lengths.items()}
    return mixed_inputs, mixed_targets, mixed_lengths, lam

"""The maths of semi-supervised GANs with K+1 classes (Salimans et al. 2016; paper 002 eqs. 4-7).

The discriminator outputs K real-class logits l(x); the fake class's logit is fixed at 0, so with
LSE(x) = log Σ_k exp l_k(x):  D(K+1|x) = 1 / (1 + exp LSE(x)) = σ(−LSE(x)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def k_plus_one_probs(logits: torch.Tensor) -> torch.Tensor:
    """[B, K] real logits -> [B, K+1] probabilities, the last column the fake class (logit 0)."""
    return torch.softmax(torch.cat([logits, logits.new_zeros(len(logits), 1)], dim=1), dim=1)


def prob_fake(logits: torch.Tensor) -> torch.Tensor:
    """D(K+1|x) = σ(−LSE(l(x))) per row."""
    return torch.sigmoid(-torch.logsumexp(logits, dim=1))


def real_loss(logits: torch.Tensor) -> torch.Tensor:
    """−E log(1 − D(K+1|x)) = E[softplus(LSE) − LSE] on real rows (paper 002 eq. 4, second term)."""
    lse = torch.logsumexp(logits, dim=1)
    return (F.softplus(lse) - lse).mean()


def fake_loss(logits: torch.Tensor) -> torch.Tensor:
    """−E log D(K+1|G(z)) = E[softplus(LSE)] on generated rows (paper 002 eq. 4, third term)."""
    return F.softplus(torch.logsumexp(logits, dim=1)).mean()


def consistency_term(logits_1: torch.Tensor, logits_2: torch.Tensor, features_1: torch.Tensor,
                     features_2: torch.Tensor, margin: float = 0.0, feature_weight: float = 0.1) -> torch.Tensor:
    """CT = E_x max(0, d(D(x'), D(x'')) + w·d(D_(x'), D_(x'')) − M')   (CT-GAN, Wei et al. 2018).

    x', x'' are two dropout-perturbed passes of D on the same real x; D(·) the softmax over the K
    real classes, D_ the penultimate layer; d the element-mean squared difference.
    """
    d_out = (torch.softmax(logits_1, dim=1) - torch.softmax(logits_2, dim=1)).pow(2).mean(dim=1)
    d_feat = (features_1 - features_2).pow(2).mean(dim=1)
    return torch.clamp(d_out + feature_weight * d_feat - margin, min=0.0).mean()


def feature_matching_loss(fake_features: torch.Tensor, real_features: torch.Tensor) -> torch.Tensor:
    """‖E D_(G(z)) − E D_(x)‖² / dim (paper 002 eq. 5; divided by the dimension, same optimum under Adam)."""
    return (fake_features.mean(dim=0) - real_features.mean(dim=0)).pow(2).mean()


def uniform_noise(n: int, dim: int, device: torch.device | str) -> torch.Tensor:
    """z ~ U(−1, 1)^dim (paper 002 does not say; DCGAN's choice)."""
    return torch.rand(n, dim, device=device) * 2 - 1

"""Maximum mean discrepancy between two sets of latents (paper 001 eq. 3-4), and CMDM's paired /
unpaired construction.

MMD²_u(p, q) = 1/(m(m−1)) Σ_{i≠j} k(p_i, p_j) + 1/(n(n−1)) Σ_{i≠j} k(q_i, q_j) − 2/(mn) Σ_{i,j} k(p_i, q_j)
with one Gaussian kernel k(x, x') = exp(−‖x − x'‖² / (2σ²)). The paper gives no σ: by default the
median heuristic (σ = median pairwise distance of the pooled sets, detached so σ is not a path for
the gradient); a fixed σ is the option under which the latents may collapse (spec §5.2).

Eq. 3 compares *sets*, so it is invariant to permuting either set: the paper's "unpaired" loss on an
in-batch shuffle equals minus the paired loss and the two cancel exactly (spec §5.1). The group-wise
construction the spec recommends does not: the batch is cut into groups of g rows; the paired term
compares modality latents of the same group, the unpaired term those of a group and a *different*
group (a cyclic shift of the groups by a random offset, a derangement). Pure functions, no state.
"""

from __future__ import annotations

import torch


def median_bandwidth(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """σ = (lower) median of the pairwise distances ‖a − b‖ over the pooled rows of x and y (a ≠ b), detached."""
    pooled = torch.cat([x, y]).detach()
    d2 = torch.cdist(pooled, pooled).pow(2)
    off = ~torch.eye(len(pooled), dtype=torch.bool, device=pooled.device)
    return d2[off].median().clamp_min(1e-12).sqrt()


def gaussian_kernel(x: torch.Tensor, y: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """[m, n] matrix of exp(−‖x_i − y_j‖² / (2σ²))."""
    d2 = (x.unsqueeze(1) - y.unsqueeze(0)).pow(2).sum(-1)  # exact (cdist's matmul trick is not, near 0)
    return torch.exp(-d2 / (2.0 * torch.as_tensor(sigma, dtype=x.dtype, device=x.device) ** 2))


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
    """Unbiased MMD² (U-statistic within sets) with a Gaussian kernel; σ by the median heuristic when None."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"the unbiased MMD needs at least 2 rows per set, got {m} and {n}")
    if sigma is not None and sigma <= 0:
        raise ValueError(f"MMD kernel bandwidth σ must be > 0, got {sigma}")
    s = median_bandwidth(x, y) if sigma is None else sigma
    kxx, kyy, kxy = gaussian_kernel(x, x, s), gaussian_kernel(y, y, s), gaussian_kernel(x, y, s)
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return within_x + within_y - 2.0 * kxy.mean()


def group_slices(batch: int, group_size: int) -> list[slice]:
    """Consecutive groups of `group_size` rows (the last absorbs a remainder); one group when the batch
    holds fewer than two full groups. Every group has at least 2 rows (the U-statistic needs them)."""
    if group_size < 2:
        raise ValueError(f"MMD group size g must be >= 2, got {group_size}")
    n_groups = max(1, batch // group_size)
    bounds = [k * group_size for k in range(n_groups)] + [batch]
    return [slice(bounds[k], bounds[k + 1]) for k in range(n_groups)]


def paired_unpaired_mmd(anchor: torch.Tensor, other: torch.Tensor, *, group_size: int = 32,
                        mode: str = "groupwise", sigma: float | None = None,
                        generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_pair, L_unpaired) between the anchor modality's latents and another's, rows paired by index.

    groupwise (spec §5.1): L_pair = mean_G MMD(a_G, o_G), L_unpaired = −mean_G MMD(a_G, o_π(G)) with π a
    cyclic shift of the groups by a random non-zero offset. With a single group (g ≥ batch/2) there is
    no other group, and the unpaired set is an in-batch shuffle — which is the paper's literal
    construction and cancels L_pair exactly.
    literal (paper 001 as written): L_pair = MMD(a, o), L_unpaired = −MMD(a, o[shuffle]).
    """
    if anchor.shape != other.shape:
        raise ValueError(f"paired latents must have one shape, got {list(anchor.shape)} and {list(other.shape)}")
    b = len(anchor)
    shuffle = torch.randperm(b, generator=generator, device="cpu").to(anchor.device)
    if mode == "literal":
        return mmd2_unbiased(anchor, other, sigma), -mmd2_unbiased(anchor, other[shuffle], sigma)
    if mode != "groupwise":
        raise ValueError(f"unpaired MMD mode must be 'groupwise' or 'literal', got {mode!r}")
    groups = group_slices(b, group_size)
    if len(groups) == 1:
        return mmd2_unbiased(anchor, other, sigma), -mmd2_unbiased(anchor, other[shuffle], sigma)
    offset = int(torch.randint(1, len(groups), (1,), generator=generator))
    pair = torch.stack([mmd2_unbiased(anchor[g], other[g], sigma) for g in groups]).mean()
    unpaired = torch.stack([mmd2_unbiased(anchor[g], other[groups[(k + offset) % len(groups)]], sigma)
                            for k, g in enumerate(groups)]).mean()
    return pair, -unpaired

"""Stored audio views of training rows, and the rule that draws one of them per row per step.

`features.audio_views` stores K rendered views of each utterance ([N, K, *shape] per group). A method
that asks for "a strong view" of an unlabeled batch should get, for each row, one of that row's stored
views — a different draw each step, uniform over the K, reproducible from the step's generator — and
z-scored with the same scaler as the plain features (a view is the same utterance, so it lives in the
same feature space). Rows without stored views (their rendering failed, or no views were featurized)
are reported in `has_views`, and the caller falls back to feature-space augmentation for them
(`methods.augment`). The bank is row-aligned with the split it was built for (`FoldData.view_banks`).

The trainer (`train.loop`) draws, per step, `DRAWS_PER_STEP` stored views of each row of each batch
from a generator keyed by (seed, rank, step, split) and attaches them to the batch
(`Batch.stored_views`); methods take them through `methods.views`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from semiemo.methods.base import Batch, StoredViews


@dataclass
class ViewBank:
    """views[group]: [N, K, *shape] (float32, normalized); has_views: [N] bool; policy: its name."""

    views: dict[str, np.ndarray]
    has_views: np.ndarray
    policy: str

    @property
    def n_views(self) -> int:
        return int(next(iter(self.views.values())).shape[1]) if self.views else 0


VIEW_DRAW_STREAM = 3   # generator stream id of view draws (0 and 1 shuffle the labeled and unlabeled rows)
DRAWS_PER_STEP = 2     # stored views drawn per row per policy per step: Π-model and mean teacher need two
                       # different views of a row, MixMatch K (cycled past two); FixMatch uses the first


def step_generator(seed: int, rank: int, step: int, split: int) -> np.random.Generator:
    """The generator of one step's view draws: a function of (seed, rank, step, split) only, so a resumed
    run draws the views it would have drawn, and each DDP rank draws its own."""
    return np.random.default_rng([seed, VIEW_DRAW_STREAM, rank, step, split])


def pick_views(n_rows: int, n_views: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """[n_rows, draws] view ids: uniform per row, distinct across draws while the row has enough views."""
    if n_views >= draws:
        return np.argsort(rng.random((n_rows, n_views)), axis=1)[:, :draws]
    return rng.integers(0, max(n_views, 1), size=(n_rows, draws))


class TensorViewBank:
    """A ViewBank's arrays as tensors on the training device, built once per fit."""

    def __init__(self, bank: ViewBank, device: torch.device | str = "cpu") -> None:
        self.policy, self.n_views = bank.policy, bank.n_views
        self.views = {g: torch.as_tensor(np.ascontiguousarray(v), device=device) for g, v in bank.views.items()}
        self.has_views = torch.as_tensor(np.asarray(bank.has_views, dtype=bool), device=device)

    def draw(self, index: torch.Tensor, rng: np.random.Generator, draws: int = DRAWS_PER_STEP) -> StoredViews:
        """`draws` stored views of each row of `index` (positions in the split the bank is aligned with)."""
        picks = torch.as_tensor(pick_views(len(index), self.n_views, draws, rng), device=index.device)
        return StoredViews(tuple({g: v[index, picks[:, d]] for g, v in self.views.items()} for d in range(draws)),
                           self.has_views.index_select(0, index))


def with_stored_views(batch: Batch, banks: dict[str, TensorViewBank], rng: np.random.Generator) -> Batch:
    """`batch` with one draw per bank (policy) attached (`Batch.stored_views`); policies in sorted order, so
    the draws do not depend on the banks' order."""
    if not banks:
        return batch
    drawn = {policy: banks[policy].draw(batch.index, rng) for policy in sorted(banks)}
    return dataclasses.replace(batch, stored_views=drawn)


@dataclass
class RowViews:
    """Stored views of one policy row-aligned with an experiment's FeatureSet (zeros where `present` is False):
    fields[group] is [N, K, *shape], raw (not yet z-scored: each fold fits its own scaler)."""

    policy: str
    present: np.ndarray
    fields: dict[str, np.ndarray]
    views: int

    def bank(self, rows: np.ndarray, transform) -> ViewBank:  # noqa: ANN001 (group, [n, ...]) -> [n, ...]
        """The bank of the split made of `rows`, each view z-scored by `transform(group, x)` (the split's
        own scaler, so a stored view lives in the same feature space as the row it replaces)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = {}
        for group, arr in self.fields.items():
            sub = arr[rows]
            n, k = sub.shape[:2]
            flat = transform(group, sub.reshape(n * k, *sub.shape[2:])).astype(np.float32, copy=False)
            out[group] = flat.reshape(n, k, *sub.shape[2:])
        return ViewBank(out, np.asarray(self.present, dtype=bool)[rows], self.policy)


def view_source(banks: dict[str, dict[str, ViewBank]] | None) -> str:
    """What a run's views were made of, for its results row: 'audio:strong=4,weak=4' (stored audio views,
    K per policy) or 'feature' (feature-space augmentation only)."""
    policies = {p: b.n_views for split in (banks or {}).values() for p, b in split.items() if b.has_views.any()}
    if not policies:
        return "feature"
    return "audio:" + ",".join(f"{p}={k}" for p, k in sorted(policies.items()))


def stored_view_share(banks: dict[str, dict[str, ViewBank]] | None, split: str) -> float:
    """Share of a split's rows that have stored views (of every policy); nan without banks for it."""
    found = (banks or {}).get(split) or {}
    if not found:
        return float("nan")
    has = np.logical_and.reduce([b.has_views for b in found.values()])
    return float(has.mean()) if len(has) else float("nan")

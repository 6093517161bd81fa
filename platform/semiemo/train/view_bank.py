"""Stored audio views of training rows, and the rule that draws one of them per row per step.

`features.audio_views` stores K rendered views of each utterance ([N, K, *shape] per group). A method
that asks for "a strong view" of an unlabeled batch should get, for each row, one of that row's stored
views — a different draw each step, uniform over the K, reproducible from the step's generator — and
z-scored with the same scaler as the plain features (a view is the same utterance, so it lives in the
same feature space). Rows without stored views (their rendering failed, or no views were featurized)
are reported in `has_views`, and the caller falls back to feature-space augmentation for them
(`methods.augment`). The bank is row-aligned with the FeatureSet it was built for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class ViewBank:
    """views[group]: [N, K, *shape] (float32, normalized); has_views: [N] bool; policy: its name."""

    views: dict[str, np.ndarray]
    has_views: np.ndarray
    policy: str

    @property
    def n_views(self) -> int:
        return int(next(iter(self.views.values())).shape[1]) if self.views else 0

    def draw(self, rows: np.ndarray, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """One stored view per row of `rows` (drawn uniformly per row); and which rows had views at all."""
        rows = np.asarray(rows, dtype=np.int64)
        picks = rng.integers(0, max(self.n_views, 1), size=len(rows))
        return {g: v[rows, picks] for g, v in self.views.items()}, self.has_views[rows]


def bank_for_rows(utt_ids: np.ndarray, stored_ids: np.ndarray, present: np.ndarray, fields: dict[str, np.ndarray],
                  policy: str, scalers: dict[str, object] | None = None) -> ViewBank:
    """A ViewBank row-aligned with `utt_ids` from a `features.audio_views.ViewSet`'s arrays (`stored_ids`,
    `present`, `fields` [N_present, K, ...]), each view z-scored with `scalers[group]` (None: raw)."""
    from semiemo.normalization import apply_zscore

    have = np.asarray(stored_ids, dtype=object)[np.asarray(present, dtype=bool)]
    pos = pd.Index(have).get_indexer(np.asarray(utt_ids, dtype=object))
    has = pos >= 0
    views = {}
    for group, arr in fields.items():
        n, k = arr.shape[:2]
        flat = arr.reshape(n * k, *arr.shape[2:]).astype(np.float32)
        scaler = (scalers or {}).get(group)
        flat = apply_zscore(scaler, flat) if scaler is not None else flat
        normalized = flat.reshape(n, k, *arr.shape[2:])
        out = np.zeros((len(pos), k, *arr.shape[2:]), dtype=np.float32)
        out[has] = normalized[pos[has]]
        views[group] = out
    return ViewBank(views, has, policy)

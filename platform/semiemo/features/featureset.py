"""The contract between the feature store and training: aligned arrays plus their manifest rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class FeatureSet:
    """Features of one corpus, row-aligned with `manifest` (index 0..N-1).

    `groups` maps a feature group name (e.g. "is10", "fbank", "text") to a float32 array [N, ...];
    `lengths` holds the valid length of padded sequence groups ([N] int), where the group has one.
    Rows whose featurization failed are absent; `dropped` counts them per reason.
    """

    manifest: pd.DataFrame
    groups: dict[str, np.ndarray]
    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.manifest = self.manifest.reset_index(drop=True)
        n = len(self.manifest)
        for name, arr in self.groups.items():
            if len(arr) != n:
                raise ValueError(f"feature group {name!r} has {len(arr)} rows but the manifest has {n}")

    def __len__(self) -> int:
        return len(self.manifest)

    def subset(self, rows: np.ndarray) -> "FeatureSet":
        rows = np.asarray(rows)
        return FeatureSet(
            manifest=self.manifest.iloc[rows].reset_index(drop=True),
            groups={k: v[rows] for k, v in self.groups.items()},
            lengths={k: v[rows] for k, v in self.lengths.items()},
            dropped=dict(self.dropped),
        )

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-row shape of each group (what a model's input layer needs)."""
        return {k: tuple(v.shape[1:]) for k, v in self.groups.items()}

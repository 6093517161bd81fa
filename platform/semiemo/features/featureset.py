"""The contract between the feature store and training: aligned arrays plus their manifest rows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class FeatureSet:
    """Features of one corpus, row-aligned with `manifest` (index 0..N-1).

    `groups` maps a feature group name (e.g. "is10", "fbank", "text") to a float32 array [N, ...]:
    model inputs, and nothing else. Beside them travel how to read them:
    `lengths` — valid length of padded sequence groups ([N] int; for `avsp` the valid segments);
    `pad_sides` — "start" for head-padded groups (paper 003), absent = "end";
    `channel_axes` — the feature axis from the end when it is not -1 (avsp's bins: -2);
    `unscaled` — categorical / one-hot groups (social) that z-scoring must leave alone;
    `side` — per-row side fields that are not inputs (boolean masks such as `text_tokens.mask`).
    Rows whose featurization failed are absent; `dropped` counts them per reason.
    """

    manifest: pd.DataFrame
    groups: dict[str, np.ndarray]
    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    pad_sides: dict[str, str] = field(default_factory=dict)
    channel_axes: dict[str, int] = field(default_factory=dict)
    unscaled: frozenset[str] = frozenset()
    side: dict[str, np.ndarray] = field(default_factory=dict)

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
        return self.replace(
            manifest=self.manifest.iloc[rows].reset_index(drop=True),
            groups={k: v[rows] for k, v in self.groups.items()},
            lengths={k: v[rows] for k, v in self.lengths.items()},
            side={k: v[rows] for k, v in self.side.items()},
        )

    def replace(self, **changes) -> "FeatureSet":
        """A copy with some fields changed; the layout fields (pad sides, axes, ...) carried along."""
        return dataclasses.replace(self, **changes)

    def append(self, other: "FeatureSet") -> "FeatureSet":
        """Rows of `other` after this one's (an external unlabeled pool after its target corpus).

        Both must hold the same groups with the same per-row shapes (the same featurizers)."""
        if set(self.groups) != set(other.groups):
            raise ValueError(f"cannot append feature sets with different groups: {sorted(self.groups)} vs {sorted(other.groups)}")
        for g in self.groups:
            if self.groups[g].shape[1:] != other.groups[g].shape[1:]:
                raise ValueError(f"feature group {g!r} has per-row shape {self.groups[g].shape[1:]} in one corpus and "
                                 f"{other.groups[g].shape[1:]} in the other; featurize both with the same config")
        cat = lambda a, b: {k: np.concatenate([a[k], b[k]]) for k in a if k in b}  # noqa: E731
        dropped = dict(self.dropped)
        for k, v in other.dropped.items():
            dropped[f"pool:{k}"] = dropped.get(f"pool:{k}", 0) + v
        return self.replace(
            manifest=pd.concat([self.manifest, other.manifest], ignore_index=True),
            groups=cat(self.groups, other.groups), lengths=cat(self.lengths, other.lengths),
            side=cat(self.side, other.side), dropped=dropped)

    def layout(self, group: str) -> dict:
        """How to read a group: keyword arguments for pooling/normalization (`pad_side`, `channel_axis`)."""
        return {"pad_side": self.pad_sides.get(group, "end"), "channel_axis": self.channel_axes.get(group, -1)}

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-row shape of each group (what a model's input layer needs)."""
        return {k: tuple(v.shape[1:]) for k, v in self.groups.items()}

"""`clusters`: the vector a cluster corpus row carries (`corpora.synthetic.clusters`), as one feature group."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from semiemo.features.base import FieldSpec


@dataclass(frozen=True)
class ClusterFeatureConfig:
    dims: int = field(default=20, metadata={"doc": "D, the corpus's `dims`"})


class ClusterFeatures:
    """Reads `cluster_features` ([D] floats per row); a row of another width is an error naming it, and a
    corpus none of whose rows has width D is refused before any work (`check_manifest`)."""

    name: ClassVar[str] = "clusters"
    needs_audio: ClassVar[bool] = False
    needs_columns: ClassVar[tuple[str, ...]] = ("cluster_features",)

    def __init__(self, config: ClusterFeatureConfig | None = None) -> None:
        self.config = config if config is not None else ClusterFeatureConfig()

    def check_manifest(self, manifest: Any) -> None:
        """Refuse a corpus whose rows all have another width than `dims`: a corpus generated with another
        `dims` (or a stored manifest of one), not one bad row. Rows of mixed widths are left to `__call__`,
        which makes each wrong one an error row, as the pipeline does for any bad row."""
        values = manifest["cluster_features"]
        widths = values.map(lambda v: int(np.size(v)) if v is not None else 0).to_numpy()
        if len(widths) and not (widths == self.config.dims).any():
            found = " or ".join(map(str, sorted(set(widths.tolist()))))
            raise ValueError(f"clusters: every row's cluster_features has {found} values (e.g. utt_id "
                             f"{str(manifest['utt_id'].iloc[0])!r}: {widths[0]}), but the `clusters` featurizer reads "
                             f"dims={self.config.dims}; {_fix(self.config.dims)}")

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((self.config.dims,))}

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        out = np.zeros((len(batch["utt_id"]), self.config.dims), np.float32)
        for i, (utt_id, value) in enumerate(zip(batch["utt_id"], batch["cluster_features"])):
            v = np.asarray(value, dtype=np.float32).reshape(-1)
            if v.shape != (self.config.dims,):
                raise ValueError(f"clusters: utt_id {str(utt_id)!r} has {v.size} values, but the featurizer reads "
                                 f"dims={self.config.dims}; {_fix(self.config.dims)}")
            out[i] = v
        return {self.name: out}


def _fix(dims: int) -> str:
    """The width is the featurizer's (its config, part of the store key), not read from the data."""
    return (f"fix: generate the corpus with dims={dims} (--corpus clusters:dims={dims},...) or store {dims} values "
            f"per row in the manifest's cluster_features column")

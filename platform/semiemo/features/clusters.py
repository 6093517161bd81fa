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
    """Reads `cluster_features` ([D] floats per row); a row of another width is an error naming it."""

    name: ClassVar[str] = "clusters"
    needs_audio: ClassVar[bool] = False
    needs_columns: ClassVar[tuple[str, ...]] = ("cluster_features",)

    def __init__(self, config: ClusterFeatureConfig | None = None) -> None:
        self.config = config if config is not None else ClusterFeatureConfig()

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((self.config.dims,))}

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        out = np.zeros((len(batch["utt_id"]), self.config.dims), np.float32)
        for i, (utt_id, value) in enumerate(zip(batch["utt_id"], batch["cluster_features"])):
            v = np.asarray(value, dtype=np.float32).reshape(-1)
            if v.shape != (self.config.dims,):
                raise ValueError(f"clusters: utt_id {utt_id!r} has {v.size} values, the featurizer expects "
                                 f"{self.config.dims}; give features [{{clusters: {{dims: {v.size}}}}}]")
            out[i] = v
        return {self.name: out}

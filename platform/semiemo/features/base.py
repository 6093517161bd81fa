"""The featurizer contract: a name, a hashable config, an output schema, a pure batch -> batch function.

The pipeline (`features.pipeline`) hands a featurizer a batch of already-decoded, validated audio
(16 kHz mono float32) and manifest columns; the featurizer returns one array per output field with
one row per input row. No Ray, no I/O of results, no logging here. A featurizer that fails on a
batch is re-run row by row by the pipeline so a bad row lands in the errors table alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class FieldSpec:
    shape: tuple[int, ...]  # per-row shape
    dtype: str = "float32"


class Featurizer(Protocol):
    name: ClassVar[str]
    needs_audio: ClassVar[bool]
    needs_columns: ClassVar[tuple[str, ...]]  # manifest columns read besides utt_id/audio
    # optional: `model_backed: ClassVar[bool] = True` runs it in a Ray actor pool (model loaded once per actor)
    # optional: `check_manifest(manifest)` raises ValueError on the driver, before any work, for a corpus the
    # featurizer can never read (e.g. `clusters` given vectors of another width); bad rows still go row by row

    @property
    def config(self) -> Any: ...  # a frozen dataclass: part of the store key

    def schema(self) -> dict[str, FieldSpec]: ...

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]: ...


def config_hash(config: Any) -> str:
    """Stable 16-hex digest of a featurizer config (dataclass or mapping)."""
    payload = asdict(config) if is_dataclass(config) else dict(config)
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]

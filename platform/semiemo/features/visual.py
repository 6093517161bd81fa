"""Visual sequences: per-frame face features (F x 342, papers 001/002) and FER probabilities (F x 7, paper 003).

Synthetic corpora carry them in the manifest (`face_features`, `fer_probs`: list of frames).
Real corpora point `visual_path` at one .npy per utterance, produced offline by a face detector +
DenseNet (342-d last pooling layer) and a FER model: shape [F, 342] (faces only) or [F, 349] =
342 face features followed by the 7 FER probabilities in schema.FER_CLASSES order. A manifest
value wins over the file. Sequences are padded/trimmed to `max_frames` with their `length`; an
utterance without any frame is an error (paper 001 drops samples where no face is detected).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from semiemo.corpora.schema import FER_CLASSES
from semiemo.features.base import FieldSpec
from semiemo.features.sequence import pad_or_trim

FACE_DIM = 342  # DenseNet (FERPlus) last pooling layer, papers 001/002
FER_DIM = len(FER_CLASSES)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_frames(value: Any) -> np.ndarray:
    """A list of frames (lists, or Arrow's object array of arrays) -> float32 [F, d]."""
    arr = np.asarray(value)
    if arr.dtype == object:
        rows = [np.asarray(r, dtype=np.float32) for r in arr]
        return np.stack(rows) if rows else np.zeros((0, 0), np.float32)
    return arr.astype(np.float32, copy=False)


@dataclass(frozen=True)
class VisualConfig:
    max_frames: int = field(default=18, metadata={"doc": "F frames kept (paper 001: 18 faces per utterance)"})
    pad_side: str = "end"
    visual_root: str = field(default="", metadata={"doc": "folder that relative visual_path values start from"})


class _VisualSequence:
    needs_audio: ClassVar[bool] = False
    name: ClassVar[str]
    needs_columns: ClassVar[tuple[str, ...]]  # (column, "visual_path")
    needs_any_column: ClassVar[bool] = True   # either of them is enough
    column: ClassVar[str]  # manifest column holding the frames
    width: ClassVar[int]  # feature columns this featurizer outputs
    file_columns: ClassVar[slice]  # which .npy columns it reads

    def __init__(self, config: VisualConfig | None = None) -> None:
        self.config = config if config is not None else VisualConfig()

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((self.config.max_frames, self.width)), "length": FieldSpec((), "int32")}

    def _from_manifest(self, utt_id: str, value: Any) -> np.ndarray:
        frames = _as_frames(value)
        if frames.ndim != 2 or (len(frames) and frames.shape[1] != self.width):
            raise ValueError(
                f"{self.name}: utt_id {utt_id!r} column {self.column!r} has shape {frames.shape}, expected [F, {self.width}]"
            )
        return frames

    def _from_file(self, utt_id: str, visual_path: Any) -> np.ndarray:
        if _missing(visual_path):
            raise ValueError(f"{self.name}: utt_id {utt_id!r} has neither {self.column!r} nor visual_path")
        path = Path(str(visual_path)).expanduser()
        if not path.is_absolute() and self.config.visual_root:
            path = Path(self.config.visual_root) / path
        if not path.is_file():
            raise FileNotFoundError(f"{self.name}: utt_id {utt_id!r}: visual file {str(path)!r} does not exist")
        frames = np.load(path, allow_pickle=False)
        if frames.ndim != 2 or frames.shape[1] < self.file_columns.stop:
            raise ValueError(
                f"{self.name}: visual file {str(path)!r} (utt_id {utt_id!r}) has shape {frames.shape}; expected "
                f"[F, {FACE_DIM}] (faces) or [F, {FACE_DIM + FER_DIM}] (faces + {FER_DIM} FER probabilities)"
                + ("; this one has no FER columns" if self.name == "fer" and frames.ndim == 2 else "")
            )
        return frames[:, self.file_columns].astype(np.float32)

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        n = len(batch["utt_id"])
        values = batch.get(self.column)
        paths = batch.get("visual_path")
        values = [None] * n if values is None else values  # a corpus may carry only one of the two
        paths = [None] * n if paths is None else paths
        out = np.zeros((n, self.config.max_frames, self.width), np.float32)
        lengths = np.zeros(n, np.int32)
        for i, (utt_id, value, path) in enumerate(zip(batch["utt_id"], values, paths)):
            frames = self._from_file(utt_id, path) if _missing(value) else self._from_manifest(utt_id, value)
            if len(frames) == 0:
                raise ValueError(f"{self.name}: utt_id {utt_id!r} has no visual frame (no face detected?)")
            out[i], lengths[i] = pad_or_trim(frames, self.config.max_frames, self.config.pad_side)
        return {self.name: out, "length": lengths}


class Face(_VisualSequence):
    """F x 342 DenseNet face features per frame (papers 001, 002)."""

    name = "face"
    needs_columns = ("face_features", "visual_path")
    column = "face_features"
    width = FACE_DIM
    file_columns = slice(0, FACE_DIM)


class FER(_VisualSequence):
    """F x 7 facial-expression probabilities per frame (paper 003's visual pseudo-label source)."""

    name = "fer"
    needs_columns = ("fer_probs", "visual_path")
    column = "fer_probs"
    width = FER_DIM
    file_columns = slice(FACE_DIM, FACE_DIM + FER_DIM)

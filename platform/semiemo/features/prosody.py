"""Median pitch and median vocal intensity per utterance: paper 004's proxy-arousal inputs.

Paper 004 (after Bone et al.) scores arousal from each utterance's median pitch and median vocal
intensity against a per-speaker baseline; the baseline lives with the method, this module only
measures. Pitch is librosa's pYIN; intensity is frame RMS in dB (re full scale 1.0). Both medians
are taken over the voiced frames pYIN finds, since unvoiced frames carry no vocal pitch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import librosa
import numpy as np

from semiemo.features.base import SAMPLE_RATE, FieldSpec

PROSODY_FIELDS: tuple[str, ...] = ("median_pitch_hz", "median_intensity_db")


@dataclass(frozen=True)
class ProsodyConfig:
    fmin_hz: float = field(default=60.0, metadata={"doc": "lowest pitch searched"})
    fmax_hz: float = field(default=500.0, metadata={"doc": "highest pitch searched (emotional speech)"})
    frame_length: int = field(default=1024, metadata={"doc": "pYIN/RMS frame, samples (64 ms: > 2 periods of fmin)"})
    hop_length: int = field(default=160, metadata={"doc": "hop, samples (10 ms)"})


class Prosody:
    """[median pitch (Hz), median intensity (dB)] over voiced frames; no voiced frame is an error."""

    name: ClassVar[str] = "prosody"
    needs_audio: ClassVar[bool] = True
    needs_columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ProsodyConfig | None = None) -> None:
        self.config = config if config is not None else ProsodyConfig()

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((len(PROSODY_FIELDS),))}

    def measure(self, utt_id: str, audio: np.ndarray) -> tuple[float, float]:
        c = self.config
        y = np.asarray(audio, dtype=np.float32)
        f0, voiced, _ = librosa.pyin(
            y, fmin=c.fmin_hz, fmax=c.fmax_hz, sr=SAMPLE_RATE, frame_length=c.frame_length, hop_length=c.hop_length
        )
        rms = librosa.feature.rms(y=y, frame_length=c.frame_length, hop_length=c.hop_length)[0]
        voiced = voiced & np.isfinite(f0)
        if not voiced.any():
            raise ValueError(
                f"prosody: utt_id {utt_id!r} has no voiced frame between {c.fmin_hz:g} and {c.fmax_hz:g} Hz "
                f"({len(y) / SAMPLE_RATE:.2f} s), so its median pitch is undefined"
            )
        n = min(len(rms), len(voiced))  # equal for centred frames; guard anyway
        intensity_db = 20.0 * np.log10(np.maximum(rms[:n][voiced[:n]], 1e-5))
        return float(np.median(f0[voiced])), float(np.median(intensity_db))

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        rows = [self.measure(u, a) for u, a in zip(batch["utt_id"], batch["audio"])]
        return {self.name: np.asarray(rows, dtype=np.float32).reshape(len(rows), len(PROSODY_FIELDS))}

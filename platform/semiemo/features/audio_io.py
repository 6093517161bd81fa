"""Turn one manifest row into validated 16 kHz mono float32 audio — or a named reason why not.

Featurizers trust what they are given, so every defect of real-world audio is handled here, once:
what can be repaired (stereo, other sample rates, NaN/inf samples, integer PCM of any width) is
repaired and *flagged*; what cannot (missing, corrupt, empty, too short) raises `AudioError` with a
reason key the pipeline counts and stores in the errors table (both defined in `corpora.audio_header`,
where `corpora validate` probes the same defects up front). Synthetic rows (`synth_config` +
`synth_index`) are rendered on the worker instead of read, so no synthetic audio is ever stored.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from semiemo.corpora.audio_header import (
    ALL_NONFINITE, CORRUPT_FILE, EMPTY_FILE, MISSING_FILE, NO_AUDIO_SOURCE, SYNTH_FAILED, TOO_SHORT, ZERO_LENGTH,
    AudioError,
)
from semiemo.features.base import SAMPLE_RATE

# Flag keys of repaired rows (the `flags` column of every shard).
FLAG_RESAMPLED = "resampled"
FLAG_MIXED_DOWN = "mixed_down"
FLAG_NONFINITE = "nonfinite_zeroed"


@dataclass(frozen=True)
class AudioOptions:
    """How strict loading is; part of no store key because it only decides *which* rows are usable."""

    sample_rate: int = SAMPLE_RATE
    min_seconds: float = 0.1  # shorter audio is an error: no featurizer frame fits in it
    base_dir: str | None = None  # relative `path`s resolve against this (the manifest's folder)


@dataclass
class LoadedAudio:
    samples: np.ndarray  # [T] float32, mono, at AudioOptions.sample_rate
    flags: tuple[str, ...] = ()


def load_row_audio(row: Mapping[str, Any], options: AudioOptions = AudioOptions()) -> LoadedAudio:
    """Audio of one manifest row: read `path`, or render `synth_config`/`synth_index`."""
    path = _present(row.get("path"))
    if path is not None:
        full = path if os.path.isabs(path) or options.base_dir is None else os.path.join(options.base_dir, path)
        samples, sr = read_audio_file(full)
        where = full
    elif _present(row.get("synth_config")) is not None and _present(row.get("synth_index")) is not None:
        samples, sr = _render_synthetic(row["synth_config"], int(row["synth_index"])), SAMPLE_RATE
        where = f"synthetic utterance {row.get('utt_id')!r}"
    else:
        raise AudioError(NO_AUDIO_SOURCE, f"row {row.get('utt_id')!r} has neither a 'path' nor a "
                         "'synth_config'+'synth_index'; give the audio file's path")
    return conform(samples, sr, options, where=where)


def read_audio_file(path: str) -> tuple[np.ndarray, int]:
    """Decode a file to float32 [T, C] (integer PCM of any width scaled to [-1, 1]) and its rate.

    soundfile handles WAV/FLAC/OGG (8/16/24/32-bit PCM and float); anything it cannot open is
    tried with librosa (audioread/ffmpeg formats such as mp3/m4a) before being called corrupt.
    """
    if not os.path.exists(path):
        raise AudioError(MISSING_FILE, f"audio file not found: {path} — fix the manifest 'path' or drop the row")
    if os.path.getsize(path) == 0:
        raise AudioError(EMPTY_FILE, f"audio file is empty (0 bytes): {path} — re-export or drop it")
    import soundfile as sf

    try:
        samples, sr = sf.read(path, dtype="float32", always_2d=True)
        return samples, int(sr)
    except Exception as sf_error:  # noqa: BLE001 - libsndfile raises several types for bad headers
        try:
            import librosa

            with warnings.catch_warnings():  # librosa warns that soundfile failed: we know, we asked it next
                warnings.simplefilter("ignore")
                samples, sr = librosa.load(path, sr=None, mono=False, dtype=np.float32)
        except Exception:  # noqa: BLE001
            raise AudioError(CORRUPT_FILE, f"cannot decode {path}: {sf_error} — re-encode it as 16 kHz WAV "
                             "(e.g. `ffmpeg -i in -ar 16000 -ac 1 out.wav`) or drop it") from sf_error
        samples = np.atleast_2d(samples).T if samples.ndim == 1 else samples.T
        return samples.astype(np.float32, copy=False), int(sr)


def conform(samples: np.ndarray, sr: int, options: AudioOptions = AudioOptions(), *, where: str = "audio") -> LoadedAudio:
    """Mono, target rate, finite, at least `min_seconds` long; each repair adds a flag."""
    flags: list[str] = []
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        if x.shape[1] > 1:
            flags.append(f"{FLAG_MIXED_DOWN}:{x.shape[1]}ch")
        x = x.mean(axis=1, dtype=np.float32) if x.shape[1] else np.zeros(0, np.float32)
    elif x.ndim != 1:
        raise AudioError(CORRUPT_FILE, f"{where}: audio has shape {x.shape}; expected [T] or [T, channels]")
    if x.size == 0:
        raise AudioError(ZERO_LENGTH, f"{where}: holds no samples — drop the row or re-export the audio")
    finite = np.isfinite(x)
    if not finite.all():
        if not finite.any():
            raise AudioError(ALL_NONFINITE, f"{where}: every sample is NaN/inf — the file is broken; drop it")
        x = np.where(finite, x, np.float32(0.0)).astype(np.float32)
        flags.append(f"{FLAG_NONFINITE}:{int((~finite).sum())}")
    if sr != options.sample_rate:
        x = _resample(x, sr, options.sample_rate)
        flags.append(f"{FLAG_RESAMPLED}:{sr}")
    seconds = x.size / options.sample_rate
    if seconds < options.min_seconds:
        raise AudioError(TOO_SHORT, f"{where}: {seconds:.3f} s is shorter than the {options.min_seconds} s minimum "
                         "— drop the row or lower `min_seconds`")
    return LoadedAudio(np.ascontiguousarray(x, dtype=np.float32), tuple(flags))


def _resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    try:
        import soxr

        return soxr.resample(x, sr_in, sr_out, quality="HQ").astype(np.float32, copy=False)
    except ImportError:  # pragma: no cover - soxr ships with librosa
        import librosa

        return librosa.resample(x, orig_sr=sr_in, target_sr=sr_out).astype(np.float32, copy=False)


def _render_synthetic(synth_config: Any, index: int) -> np.ndarray:
    try:
        from semiemo.corpora.synthetic import render_audio
    except ImportError as e:  # pragma: no cover - depends on the corpora package being installed
        raise AudioError(SYNTH_FAILED, f"cannot import semiemo.corpora.synthetic.render_audio: {e}") from e
    try:
        return np.asarray(render_audio(synth_config, index), dtype=np.float32)
    except Exception as e:  # noqa: BLE001 - a bad config row is that row's error, not the run's
        raise AudioError(SYNTH_FAILED, f"rendering synthetic utterance {index} failed: {type(e).__name__}: {e}") from e


def _present(value: Any) -> Any:
    """None for missing cells (None, NaN, pd.NA, empty string), the value otherwise."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    try:
        import pandas as pd

        if value is pd.NA:
            return None
    except ImportError:  # pragma: no cover
        pass
    return value

"""Spectral frame features (librosa): log-mel Fbank and STFT spectrograms, and AV-SpNET segments.

- `fbank`: 128 log-mel filterbanks, 25 ms window / 10 ms hop (paper 002 "Fbank").
- `stft`: 128-bin log-magnitude STFT, 25 ms / 10 ms (paper 002 "FFT").
- `stft512`: 512-bin log-magnitude STFT, 25 ms / 10 ms, T = 555 (paper 003, VGGVox-style settings).
- `avsp`: paper 004's spectrogram (800-point DFT, 20 ms Hamming, 10 ms hop, 4 kHz low-pass, log
  magnitude) cut into 200 x 80 segments for segment-level training and per-utterance voting.

Frames are taken without centring (frame k covers samples [k*hop, k*hop + win)), so the frame count
of n samples is 1 + (n - win) // hop. Sequences are padded/trimmed to `max_frames` with a `length`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import librosa
import numpy as np

from semiemo.features.base import SAMPLE_RATE, FieldSpec
from semiemo.features.sequence import pad_or_trim

MAGNITUDE_FLOOR = 1e-5  # log floor for magnitudes (-100 dB); power spectra use its square


def _samples(ms: float) -> int:
    return int(round(ms * SAMPLE_RATE / 1000))


def frame_count(num_samples: int, win_ms: float, hop_ms: float) -> int:
    """Frames of an uncentred STFT: 1 + (n - win) // hop, or 0 when the audio is shorter than one window."""
    win, hop = _samples(win_ms), _samples(hop_ms)
    return 0 if num_samples < win else 1 + (num_samples - win) // hop


def _magnitude(audio: np.ndarray, n_fft: int, win_ms: float, hop_ms: float, window: str) -> np.ndarray:
    """|DFT| of windowed frames, [frames, n_fft // 2 + 1]; each `win`-sample frame is zero-padded to n_fft.

    Framed by hand because librosa.stft(center=False) frames by n_fft, not by the window length.
    """
    win, hop = _samples(win_ms), _samples(hop_ms)
    frames = librosa.util.frame(np.ascontiguousarray(audio, dtype=np.float32), frame_length=win, hop_length=hop, axis=0)
    tapered = frames * librosa.filters.get_window(window, win, fftbins=True).astype(np.float32)
    return np.abs(np.fft.rfft(tapered, n=n_fft, axis=1)).astype(np.float32)


def _require_frames(name: str, utt_id: str, audio: np.ndarray, win_ms: float) -> None:
    if len(audio) < _samples(win_ms):
        raise ValueError(
            f"{name}: utt_id {utt_id!r} has {len(audio)} samples, shorter than one {win_ms:g} ms window"
        )


@dataclass(frozen=True)
class FbankConfig:
    n_mels: int = field(default=128, metadata={"doc": "mel bands (paper 002: 128)"})
    win_ms: float = field(default=25.0, metadata={"doc": "window length, ms (paper 002: 25)"})
    hop_ms: float = field(default=10.0, metadata={"doc": "hop, ms (paper 002: 10)"})
    n_fft: int = field(default=512, metadata={"doc": "DFT size (>= window samples)"})
    window: str = "hamming"
    max_frames: int = field(default=300, metadata={"doc": "T frames stored (paper 002 crops 128 of them)"})
    pad_side: str = "end"


class Fbank:
    """128-d log-mel filterbank frames (paper 002)."""

    name: ClassVar[str] = "fbank"
    needs_audio: ClassVar[bool] = True
    needs_columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: FbankConfig | None = None) -> None:
        self.config = config if config is not None else FbankConfig()
        c = self.config
        self._mel_basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=c.n_fft, n_mels=c.n_mels).astype(np.float32)

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((self.config.max_frames, self.config.n_mels)), "length": FieldSpec((), "int32")}

    def frames(self, utt_id: str, audio: np.ndarray) -> np.ndarray:
        c = self.config
        _require_frames(self.name, utt_id, audio, c.win_ms)
        power = _magnitude(audio, c.n_fft, c.win_ms, c.hop_ms, c.window) ** 2
        return np.log(np.maximum(power @ self._mel_basis.T, MAGNITUDE_FLOOR**2))

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        return _pad_batch(self, batch, self.config.n_mels)


@dataclass(frozen=True)
class STFTConfig:
    n_bins: int = field(default=128, metadata={"doc": "frequency bins kept per frame (paper 002: 128)"})
    win_ms: float = field(default=25.0, metadata={"doc": "window length, ms"})
    hop_ms: float = field(default=10.0, metadata={"doc": "hop, ms"})
    window: str = "hamming"
    max_frames: int = field(default=300, metadata={"doc": "T frames stored"})
    pad_side: str = "end"


class STFT:
    """Log-magnitude STFT frames with `n_bins` bins covering 0 .. 8 kHz (paper 002 "FFT").

    A 25 ms window (400 samples) needs a DFT of at least 400 points, more than the 2 x 128 a
    128-bin spectrum implies; so the DFT is 2 * n_bins * k points (smallest k that fits the window),
    the Nyquist bin is dropped and each run of k adjacent bins is averaged: 128 bins of 62.5 Hz.
    With n_bins = 512 k is 1: the 1024-point, 512-bin VGGVox spectrogram of paper 003.
    """

    name: ClassVar[str] = "stft"
    needs_audio: ClassVar[bool] = True
    needs_columns: ClassVar[tuple[str, ...]] = ()
    config_class: ClassVar[type] = STFTConfig

    def __init__(self, config: STFTConfig | None = None) -> None:
        self.config = config if config is not None else self.config_class()
        win = _samples(self.config.win_ms)
        self.pool = -(-win // (2 * self.config.n_bins))  # k = ceil(win / (2 * n_bins))
        self.n_fft = 2 * self.config.n_bins * self.pool

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((self.config.max_frames, self.config.n_bins)), "length": FieldSpec((), "int32")}

    def frames(self, utt_id: str, audio: np.ndarray) -> np.ndarray:
        c = self.config
        _require_frames(self.name, utt_id, audio, c.win_ms)
        mag = _magnitude(audio, self.n_fft, c.win_ms, c.hop_ms, c.window)[:, : self.n_fft // 2]
        mag = mag.reshape(len(mag), c.n_bins, self.pool).mean(axis=2)
        return np.log(np.maximum(mag, MAGNITUDE_FLOOR))

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        return _pad_batch(self, batch, self.config.n_bins)


@dataclass(frozen=True)
class STFT512Config(STFTConfig):
    n_bins: int = field(default=512, metadata={"doc": "d = 512 (paper 003)"})
    max_frames: int = field(default=555, metadata={"doc": "t = 555 (paper 003)"})
    pad_side: str = field(default="end", metadata={"doc": "paper 003 head-pads: set 'start' to match"})


class STFT512(STFT):
    """512-d log-magnitude STFT, T = 555 (paper 003, librosa with the VGGVox settings of its ref. 14)."""

    name: ClassVar[str] = "stft512"
    config_class: ClassVar[type] = STFT512Config


def _pad_batch(featurizer: Any, batch: dict[str, Any], width: int) -> dict[str, np.ndarray]:
    c = featurizer.config
    padded, lengths = [], []
    for utt_id, audio in zip(batch["utt_id"], batch["audio"]):
        frames, n = pad_or_trim(featurizer.frames(utt_id, audio), c.max_frames, c.pad_side)
        padded.append(frames)
        lengths.append(n)
    return {
        featurizer.name: np.asarray(padded, dtype=np.float32).reshape(len(padded), c.max_frames, width),
        "length": np.asarray(lengths, dtype=np.int32),
    }


@dataclass(frozen=True)
class AVSpConfig:
    n_fft: int = field(default=800, metadata={"doc": "DFT size, samples (paper 004: 800)"})
    win_ms: float = field(default=20.0, metadata={"doc": "Hamming window, ms (paper 004: 20)"})
    hop_ms: float = field(default=10.0, metadata={"doc": "hop, ms (paper 004: 10)"})
    cutoff_hz: float = field(default=4000.0, metadata={"doc": "low-pass cutoff (paper 004: 4 kHz) -> 200 bins"})
    segment_frames: int = field(default=80, metadata={"doc": "frames per segment (paper 004: 80 = 810 ms)"})
    max_segments: int = field(default=10, metadata={"doc": "S: segments stored per utterance (8.1 s)"})


class AVSpectrogram:
    """Paper 004's AV-SpNET input: log-magnitude spectrogram segments of 200 bins x 80 frames.

    The 4 kHz low-pass is ideal: bins at or above the cutoff are discarded, leaving the 200 bins
    below 4 kHz (20 Hz apart). An utterance of F frames gives F // 80 non-overlapping segments
    (the last partial one is dropped); one shorter than a segment gives a single segment padded
    with log-floor silence, so no utterance is lost. At most S = max_segments are kept (the first
    S), output as [S, 200, 80] plus `num_segments`; rows past num_segments are zeros. Each segment
    is a training sample carrying its utterance's label; predictions are voted back per utt_id.
    """

    name: ClassVar[str] = "avsp"
    needs_audio: ClassVar[bool] = True
    needs_columns: ClassVar[tuple[str, ...]] = ()
    length_field: ClassVar[str] = "num_segments"  # the valid segments along axis 1: a length, not an input
    channel_axis: ClassVar[int] = -2             # [S, bins, frames]: the frequency bins are the features

    def __init__(self, config: AVSpConfig | None = None) -> None:
        self.config = config if config is not None else AVSpConfig()
        self.num_bins = int(round(self.config.cutoff_hz * self.config.n_fft / SAMPLE_RATE))

    def schema(self) -> dict[str, FieldSpec]:
        c = self.config
        return {
            self.name: FieldSpec((c.max_segments, self.num_bins, c.segment_frames)),
            "num_segments": FieldSpec((), "int32"),
        }

    def segments(self, utt_id: str, audio: np.ndarray) -> np.ndarray:
        """[n_segments, bins, segment_frames] for one utterance (n_segments >= 1, uncapped)."""
        c = self.config
        _require_frames(self.name, utt_id, audio, c.win_ms)
        mag = _magnitude(audio, c.n_fft, c.win_ms, c.hop_ms, "hamming")[:, : self.num_bins]
        logmag = np.log(np.maximum(mag, MAGNITUDE_FLOOR)).astype(np.float32)
        if len(logmag) < c.segment_frames:
            logmag, _ = pad_or_trim(logmag, c.segment_frames, pad_value=float(np.log(MAGNITUDE_FLOOR)))
        n = len(logmag) // c.segment_frames
        chunks = logmag[: n * c.segment_frames].reshape(n, c.segment_frames, self.num_bins)
        return chunks.transpose(0, 2, 1)  # frequency x time, as the paper's 200 x 80 image

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        c = self.config
        out = np.zeros((len(batch["utt_id"]), c.max_segments, self.num_bins, c.segment_frames), np.float32)
        counts = np.zeros(len(batch["utt_id"]), np.int32)
        for i, (utt_id, audio) in enumerate(zip(batch["utt_id"], batch["audio"])):
            segs = self.segments(utt_id, audio)[: c.max_segments]
            out[i, : len(segs)] = segs
            counts[i] = len(segs)
        return {self.name: out, "num_segments": counts}

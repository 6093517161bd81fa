"""Audio-domain augmentation policies for consistency-based SSL: a *weak* and a *strong* view of speech.

Why on the audio: FixMatch, MixMatch and mean teacher learn from agreement between two views of one
utterance, and they only learn something when the views differ the way real recordings differ. For
utterance-level functionals (IS10, eGeMAPS) feature-space noise is not such a difference; changes of
speaking rate, pitch, room, channel, noise and level are, and they exist only before featurization.

The policies follow the augmentations the SER literature uses (built with `audiomentations`):

- **weak** — small changes a listener would not notice, the "flip-and-shift" of speech (FixMatch's weak
  augmentation): gain ±6 dB (level), time stretch 0.95–1.05 (speed perturbation, Ko et al. 2015), white
  noise at a high SNR of 25–40 dB (clean-speech noise augmentation as in the SER-with-augmentation
  studies of Chatziagapi et al. 2019 and Latif et al. 2020).
- **strong** — RandAugment-like (FixMatch's strong augmentation): 2 to 4 of pitch shift ±2 semitones
  (kept small: pitch is an emotion cue; Lakomkin et al. 2018 / Padi et al. 2021 used a few semitones),
  time stretch 0.85–1.2, a synthetic room impulse response with RT60 0.2–0.8 s (reverberation; the RIR is
  exponentially decaying noise, Lehmann-style, so no RIR corpus is needed), a G.711 μ-law telephone channel
  (8 kHz, 8-bit codec + band limit — the codec/channel augmentation of Tiwari et al. 2020), a random EQ,
  and gain ±12 dB (loudness), always followed by white or coloured noise at a low SNR of 5–20 dB.

Every view is reproducible: `render_view` seeds Python's and NumPy's generators (audiomentations draws
from them) from (policy seed, utt_id, view index), so a resumed featurization renders the same views.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

POLICIES = ("weak", "strong")


@dataclass(frozen=True)
class AugmentPolicy:
    """A named audio augmentation policy; its fields are part of the views' store key."""

    name: str = "weak"           # weak | strong (see the module docstring)
    seed: int = 0                # --augment-seed: a different seed renders different views
    version: int = 1             # bump when a policy's recipe changes, so old views are not reused

    def __post_init__(self) -> None:
        if self.name not in POLICIES:
            raise ValueError(f"unknown augmentation policy {self.name!r}; use one of {list(POLICIES)}")

    def config(self) -> dict[str, Any]:
        return {**asdict(self), "recipe": describe_policy(self.name)}


def describe_policy(name: str) -> str:
    """One line naming the policy's transforms and ranges (also hashed into the store key)."""
    if name == "weak":
        return "gain ±6 dB p=.5; time stretch 0.95-1.05 p=.5; white noise SNR 25-40 dB p=.5"
    return ("2-4 of {pitch ±2 st, stretch 0.85-1.2, synthetic RIR RT60 0.2-0.8 s, G.711 telephone, EQ ±6 dB, "
            "gain ±12 dB}; then white/colour noise SNR 5-20 dB")


def build_policy(name: str):
    """The audiomentations pipeline of policy `name`."""
    import audiomentations as A

    if name == "weak":
        return A.Compose([
            A.Gain(min_gain_db=-6.0, max_gain_db=6.0, p=0.5),
            A.TimeStretch(min_rate=0.95, max_rate=1.05, leave_length_unchanged=False, p=0.5),
            A.AddGaussianSNR(min_snr_db=25.0, max_snr_db=40.0, p=0.5),
        ])
    if name == "strong":
        return A.Compose([
            A.SomeOf((2, 4), [
                A.PitchShift(min_semitones=-2.0, max_semitones=2.0, p=1.0),
                A.TimeStretch(min_rate=0.85, max_rate=1.2, leave_length_unchanged=False, p=1.0),
                SyntheticRoomReverb(min_rt60=0.2, max_rt60=0.8, p=1.0),
                TelephoneChannel(p=1.0),
                A.SevenBandParametricEQ(min_gain_db=-6.0, max_gain_db=6.0, p=1.0),
                A.Gain(min_gain_db=-12.0, max_gain_db=12.0, p=1.0),
            ]),
            A.OneOf([
                A.AddGaussianSNR(min_snr_db=5.0, max_snr_db=20.0, p=1.0),
                A.AddColorNoise(min_snr_db=5.0, max_snr_db=20.0, p=1.0),
            ]),
        ])
    raise ValueError(f"unknown augmentation policy {name!r}; use one of {list(POLICIES)}")


def view_seed(policy_seed: int, utt_id: str, view: int) -> int:
    """A 32-bit seed unique to (policy seed, utterance, view index), stable across processes."""
    digest = hashlib.sha256(f"{policy_seed}\x00{utt_id}\x00{view}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def render_view(pipeline: Any, samples: np.ndarray, sample_rate: int, policy_seed: int, utt_id: str,
                view: int) -> np.ndarray:
    """View `view` of one utterance: the policy applied under its own seed; float32, finite, in [-1, 1]."""
    seed = view_seed(policy_seed, utt_id, view)
    random.seed(seed)
    np.random.seed(seed)
    out = np.asarray(pipeline(samples=np.asarray(samples, dtype=np.float32), sample_rate=sample_rate), np.float32)
    out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    return out / peak if peak > 1.0 else out


# -- transforms audiomentations lacks (kept here: they exist only for these policies) ---------------

def _base():
    from audiomentations.core.transforms_interface import BaseWaveformTransform

    return BaseWaveformTransform


class SyntheticRoomReverb(_base()):
    """Convolution with a synthetic room impulse response: a direct path, then exponentially decaying
    Gaussian noise whose decay gives the drawn RT60 (60 dB down after RT60 seconds). Needs no RIR files."""

    supports_multichannel = False

    def __init__(self, min_rt60: float = 0.2, max_rt60: float = 0.8, p: float = 0.5):
        super().__init__(p)
        self.min_rt60, self.max_rt60 = min_rt60, max_rt60

    def randomize_parameters(self, samples, sample_rate):
        super().randomize_parameters(samples, sample_rate)
        if self.parameters["should_apply"]:
            self.parameters["rt60"] = random.uniform(self.min_rt60, self.max_rt60)
            self.parameters["noise_seed"] = random.getrandbits(32)
            self.parameters["direct_to_reverb"] = random.uniform(0.3, 1.0)

    def apply(self, samples, sample_rate):
        from scipy.signal import fftconvolve

        rt60 = self.parameters["rt60"]
        n = max(1, int(rt60 * sample_rate))
        t = np.arange(n) / sample_rate
        tail = np.random.default_rng(self.parameters["noise_seed"]).normal(size=n) * np.exp(-6.9078 * t / rt60)
        tail[0] = 0.0
        rir = tail / (np.sqrt(np.sum(tail ** 2)) + 1e-12) * (1.0 - self.parameters["direct_to_reverb"])
        rir[0] = self.parameters["direct_to_reverb"]
        wet = fftconvolve(samples, rir.astype(np.float32))[:len(samples) + n // 4]
        rms_in = np.sqrt(np.mean(samples ** 2)) + 1e-12
        return (wet * (rms_in / (np.sqrt(np.mean(wet ** 2)) + 1e-12))).astype(np.float32)


class TelephoneChannel(_base()):
    """A G.711 μ-law telephone channel: down to 8 kHz (band limit), 8-bit μ-law quantization, back up."""

    supports_multichannel = False

    def apply(self, samples, sample_rate):
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(int(sample_rate), 8000)
        narrow = resample_poly(samples, 8000 // g, int(sample_rate) // g)
        mu = 255.0
        x = np.clip(narrow, -1.0, 1.0)
        coded = np.round((np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)) * 127.0) / 127.0
        decoded = np.sign(coded) * np.expm1(np.abs(coded) * np.log1p(mu)) / mu
        return resample_poly(decoded, int(sample_rate) // g, 8000 // g)[:len(samples)].astype(np.float32)

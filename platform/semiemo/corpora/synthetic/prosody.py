"""How emotion sounds in the synthetic corpus: THE table of per-emotion prosodic offsets.

Every synthetic utterance is spoken by a speaker with a baseline voice (espeak variant, base pitch,
pitch range, rate, volume). Emotion moves that baseline by the offsets below, multiplied by the
domain's expression strength (acted ≈ 1, wild weaker), plus within-class noise, so a class is
recognisable only *relative to the speaker* — the situation paper 004's per-speaker baselines and
every speaker-independent protocol assume.

The directions and rough sizes follow the emotional-prosody literature:
- Murray & Arnott (1993), "Toward the simulation of emotion in synthetic speech", Table 1
  (anger: pitch very much higher, much wider range, slightly faster, louder; happiness: much higher,
  much wider, faster or slower; sadness: slightly lower, slightly narrower, slightly slower, quieter;
  fear: very much higher, much wider, much faster; disgust: very much lower, slightly wider,
  very much slower, quieter).
- Banse & Scherer (1996) and Scherer (2003), Table 3: hot anger and elation raise F0 mean, F0
  variability, intensity and rate; sadness and boredom lower F0 mean, narrow F0 range, slow down
  and soften; boredom is the flat, slow, low-energy pattern.
espeak units: `pitch` and `range` are 0..100 (50 = the voice's default; 50 pitch units ≈ one octave,
so 10 units ≈ 2.4 semitones); `rate` is a relative change of words per minute; `volume` is
espeak's amplitude (100 = default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semiemo.corpora.synthetic.espeak import PITCH_LIMITS, RANGE_LIMITS, RATE_LIMITS, VOLUME_LIMITS, VoiceSettings


@dataclass(frozen=True)
class ProsodyOffset:
    """A move away from a speaker's baseline voice, at full (acted) expression strength."""

    pitch: float        # espeak pitch units (0..100 scale)
    pitch_range: float  # espeak range units (0..100 scale)
    rate: float         # relative change of speaking rate: +0.2 = 20 % faster
    volume: float       # espeak volume units (baseline ≈ 100)


# The one table. Keys are emotion names usable in SynthConfig.emotions.
EMOTION_PROSODY: dict[str, ProsodyOffset] = {
    # reference point: the speaker's own baseline
    "neutral": ProsodyOffset(pitch=0.0, pitch_range=0.0, rate=0.0, volume=0.0),
    # high, wide, fast, loud (M&A 1993; hot anger in B&S 1996)
    "anger": ProsodyOffset(pitch=14.0, pitch_range=28.0, rate=0.18, volume=45.0),
    # high, wide, a little fast, a little loud (M&A 1993 happiness; B&S 1996 elation)
    "happiness": ProsodyOffset(pitch=18.0, pitch_range=22.0, rate=0.08, volume=15.0),
    # low, narrow, slow, soft (M&A 1993; Scherer 2003)
    "sadness": ProsodyOffset(pitch=-14.0, pitch_range=-28.0, rate=-0.25, volume=-40.0),
    # low, flat, slow, a little soft (B&S 1996 boredom)
    "boredom": ProsodyOffset(pitch=-9.0, pitch_range=-35.0, rate=-0.18, volume=-20.0),
    # low-ish, slightly wider, much slower, a little soft (M&A 1993 disgust)
    "disgust": ProsodyOffset(pitch=-10.0, pitch_range=8.0, rate=-0.28, volume=-10.0),
    # very high, wide, much faster (M&A 1993 fear; B&S 1996 panic fear)
    "fear": ProsodyOffset(pitch=24.0, pitch_range=18.0, rate=0.30, volume=0.0),
    # high, very wide, a little loud (surprise: raised, expanded F0 contour)
    "surprise": ProsodyOffset(pitch=20.0, pitch_range=34.0, rate=0.05, volume=15.0),
}

# Standard deviation of the within-class noise added to every utterance (same units as above):
# two utterances of one class by one speaker are never spoken identically.
WITHIN_CLASS_SD = ProsodyOffset(pitch=3.0, pitch_range=6.0, rate=0.05, volume=8.0)


def offsets_array(emotions: tuple[str, ...] | list[str]) -> np.ndarray:
    """(n_emotions, 4) offsets [pitch, range, rate, volume] in the order of `emotions`."""
    unknown = [e for e in emotions if e not in EMOTION_PROSODY]
    if unknown:
        raise ValueError(f"no prosody offsets for emotion(s) {unknown}: allowed {sorted(EMOTION_PROSODY)} "
                         "(add a row to semiemo/corpora/synthetic/prosody.py:EMOTION_PROSODY)")
    return np.array([[o.pitch, o.pitch_range, o.rate, o.volume] for o in (EMOTION_PROSODY[e] for e in emotions)])


def emotional_voice(
    variant: np.ndarray,
    base: np.ndarray,
    offsets: np.ndarray,
    strength: np.ndarray,
    standard_normal: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per-utterance espeak settings, vectorised over n utterances.

    base: (n, 4) speaker baselines [pitch, range, rate_wpm, volume];
    offsets: (n, 4) the class offsets of each utterance; strength: (n,) domain expression strength;
    standard_normal: (n, 4) the utterance's own N(0, 1) draws for the within-class noise.
    """
    sd = np.array([WITHIN_CLASS_SD.pitch, WITHIN_CLASS_SD.pitch_range, WITHIN_CLASS_SD.rate, WITHIN_CLASS_SD.volume])
    moved = offsets * strength[:, None] + standard_normal * sd
    pitch = np.clip(np.rint(base[:, 0] + moved[:, 0]), *PITCH_LIMITS)
    prange = np.clip(np.rint(base[:, 1] + moved[:, 1]), *RANGE_LIMITS)
    rate = np.clip(np.rint(base[:, 2] * (1.0 + moved[:, 2])), *RATE_LIMITS)
    volume = np.clip(np.rint(base[:, 3] + moved[:, 3]), *VOLUME_LIMITS)
    return {"variant": np.asarray(variant), "pitch": pitch.astype(int), "range": prange.astype(int),
            "rate": rate.astype(int), "volume": volume.astype(int)}


def voice_settings(plan: dict[str, np.ndarray], k: int) -> VoiceSettings:
    """Row k of an `emotional_voice` plan as espeak settings."""
    return VoiceSettings(variant=str(plan["variant"][k]), pitch=int(plan["pitch"][k]), range=int(plan["range"][k]),
                         rate=int(plan["rate"][k]), volume=int(plan["volume"][k]))

"""The visual modality of papers 001-003: face features and a facial-expression model's output.

Per utterance, F frames of face features = (class prototype of the emotion the FACE shows) x an
onset-apex-offset envelope x domain strength + speaker offset + frame noise. The face shows the
voice's emotion except with the audio-visual inconsistency rate (paper 003 measured 51.81 % on
CH-SIMS), when it shows another one. The simulated pretrained FER model outputs per-frame
probabilities over schema.FER_CLASSES that peak on the right expression with `fer_accuracy`.
"""

from __future__ import annotations

import zlib

import numpy as np

from semiemo.corpora.schema import FER_CLASSES

# What a FER model trained on the 7 basic expressions would call each emotion.
EMOTION_TO_FER: dict[str, str] = {
    "neutral": "neutral", "happiness": "happiness", "sadness": "sadness", "anger": "anger",
    "disgust": "disgust", "boredom": "neutral", "fear": "fear", "surprise": "surprise",
}
FER_PEAK_LOGIT = 5.5      # logit margin of the FER model's chosen class at the apex: 62 % of frames, 24 % of track
                          # means above 0.9 (was 3.0: none above 0.86; CALIBRATION.md)
FER_LOGIT_NOISE_SD = 0.7  # per-frame, per-class logit noise


def class_prototypes(seed: int, emotions: tuple[str, ...], dim: int, separation: float) -> np.ndarray:
    """(n_emotions, dim) prototypes, each keyed by (seed, emotion name) so they do not move when the
    label set is reordered; neutral is the origin (no expression)."""
    protos = np.zeros((len(emotions), dim))
    for k, e in enumerate(emotions):
        if e != "neutral":
            protos[k] = np.random.default_rng([seed, 7, zlib.crc32(e.encode())]).standard_normal(dim) * separation
    return protos


def envelope(frames: int) -> np.ndarray:
    """Onset-apex-offset intensity of an expression over F frames, in (0.5, 1]."""
    return 0.5 + 0.5 * np.sin(np.pi * (np.arange(frames) + 0.5) / frames)


def face_label(label: np.ndarray, n_classes: int, inconsistency: float, u_flip: np.ndarray,
               u_other: np.ndarray) -> np.ndarray:
    """The emotion the face shows: the voice's, or with the inconsistency rate another class."""
    other = (label + 1 + np.minimum((u_other * (n_classes - 1)).astype(int), n_classes - 2)) % n_classes
    return np.where(u_flip < inconsistency, other, label)


def face_label_other_group(label: np.ndarray, groups: list[str], inconsistency: float, u_flip: np.ndarray,
                           u_other: np.ndarray) -> np.ndarray:
    """Like `face_label`, but an inconsistent face shows an emotion of another GROUP (e.g. another
    sentiment, paper 003 Table 2), so the rate is the one measured after the map."""
    groups_arr = np.asarray(groups, dtype=object)
    others = [np.flatnonzero(groups_arr != groups_arr[k]) for k in range(len(groups))]
    pick = np.array([others[c][min(int(u * len(others[c])), len(others[c]) - 1)] for c, u in zip(label, u_other)],
                    dtype=label.dtype) if len(label) else label.copy()
    return np.where(u_flip < inconsistency, pick, label)


def fer_prediction(emotions: tuple[str, ...], shown: np.ndarray, accuracy: float, u_right: np.ndarray,
                   u_other: np.ndarray) -> np.ndarray:
    """Index into FER_CLASSES the FER model settles on per utterance."""
    n_fer = len(FER_CLASSES)
    truth = np.array([FER_CLASSES.index(EMOTION_TO_FER.get(e, "neutral")) for e in emotions])[shown]
    wrong = (truth + 1 + np.minimum((u_other * (n_fer - 1)).astype(int), n_fer - 2)) % n_fer
    return np.where(u_right < accuracy, truth, wrong)


def render_frames(prototypes: np.ndarray, speaker_offsets: np.ndarray, strength: np.ndarray,
                  fer_class: np.ndarray, frames: int, noise_sd: float,
                  rngs: list[np.random.Generator]) -> tuple[np.ndarray, np.ndarray]:
    """(n, F, dim) face features and (n, F, 7) FER probabilities, float16, for n utterances.

    prototypes, speaker_offsets: (n, dim) per utterance; strength: (n,); fer_class: (n,) FER index;
    rngs: each utterance's own generator (its noise does not depend on the other rows).
    """
    n, dim = prototypes.shape
    env = envelope(frames).astype(np.float32)
    noise = np.empty((n, frames, dim), dtype=np.float32)
    logit_noise = np.empty((n, frames, len(FER_CLASSES)), dtype=np.float32)
    for k, rng in enumerate(rngs):
        rng.standard_normal(out=noise[k], dtype=np.float32)
        rng.standard_normal(out=logit_noise[k], dtype=np.float32)
    face = noise
    face *= np.float32(noise_sd)
    face += prototypes.astype(np.float32)[:, None, :] * (strength.astype(np.float32)[:, None] * env[None, :])[:, :, None]
    face += speaker_offsets.astype(np.float32)[:, None, :]
    logits = logit_noise * np.float32(FER_LOGIT_NOISE_SD)
    logits[np.arange(n), :, fer_class] += np.float32(FER_PEAK_LOGIT) * env[None, :]
    probs = np.exp(logits - logits.max(axis=2, keepdims=True))
    probs /= probs.sum(axis=2, keepdims=True)
    return face.astype(np.float16), probs.astype(np.float16)

"""What annotators add to a labeled utterance: categorical votes and arousal/valence ratings.

Votes (paper 002's fuzzy labels): each of the annotators names the true class with the domain's
agreement probability, otherwise another class — agreement is lower in the wild, where expression
is weak. Arousal/valence sit near the class's place on the circumplex (Russell 1980; Scherer 2005
places anger/fear high-arousal negative, happiness positive, sadness/boredom low-arousal),
pulled toward neutral by the domain's expression strength, with rater noise.
"""

from __future__ import annotations

import numpy as np

# (arousal, valence) centroids in [-1, 1].
AFFECT_CENTROID: dict[str, tuple[float, float]] = {
    "neutral": (0.0, 0.0),
    "anger": (0.8, -0.6),
    "happiness": (0.5, 0.8),
    "sadness": (-0.5, -0.7),
    "boredom": (-0.7, -0.3),
    "disgust": (0.2, -0.7),
    "fear": (0.7, -0.6),
    "surprise": (0.7, 0.3),
}
AFFECT_NOISE_SD = 0.15  # rater noise on each of arousal and valence


def affect(emotions: tuple[str, ...], label: np.ndarray, strength: np.ndarray,
           standard_normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(arousal, valence) per row, float32 in [-1, 1]. standard_normal: (n, 2)."""
    centroid = np.array([AFFECT_CENTROID.get(e, (0.0, 0.0)) for e in emotions])[label]
    av = np.clip(centroid * strength[:, None] + AFFECT_NOISE_SD * standard_normal, -1.0, 1.0).astype(np.float32)
    return av[:, 0], av[:, 1]


def votes(label: np.ndarray, n_classes: int, agreement: np.ndarray, u_agree: np.ndarray,
          u_other: np.ndarray) -> np.ndarray:
    """(n, n_votes) class indices voted. u_agree, u_other: (n, n_votes) uniforms."""
    other = (label[:, None] + 1 + np.minimum((u_other * (n_classes - 1)).astype(int), n_classes - 2)) % n_classes
    return np.where(u_agree < agreement[:, None], label[:, None], other)

"""Social attributes of paper 000: the query `topic` and the user's `accent` (location region).

Paper 000 finds both add a little (+1.2 % and +0.66 % F1): they are weakly informative. Here a
topic is drawn from a mix of an emotion-dependent table and a uniform choice; an accent is the
speaker's home region, except with a small chance it is a region tied to the emotion.
"""

from __future__ import annotations

import numpy as np

from semiemo.corpora.schema import TOPICS

# P(topic | emotion) over schema.TOPICS = (chat, consultation, joke, entertainment, operation, search, other).
# Plausible voice-assistant habits: anger at failed operations, sadness seeks chat and advice,
# happiness and boredom ask for jokes and entertainment, neutral queries are operations and searches.
TOPIC_GIVEN_EMOTION: dict[str, tuple[float, ...]] = {
    "neutral":   (0.10, 0.15, 0.05, 0.15, 0.25, 0.25, 0.05),
    "happiness": (0.30, 0.05, 0.25, 0.25, 0.05, 0.05, 0.05),
    "sadness":   (0.40, 0.30, 0.05, 0.10, 0.03, 0.04, 0.08),
    "anger":     (0.10, 0.20, 0.03, 0.07, 0.35, 0.10, 0.15),
    "disgust":   (0.25, 0.15, 0.05, 0.15, 0.10, 0.10, 0.20),
    "boredom":   (0.25, 0.05, 0.25, 0.25, 0.05, 0.05, 0.10),
    "fear":      (0.15, 0.45, 0.02, 0.03, 0.10, 0.15, 0.10),
    "surprise":  (0.30, 0.10, 0.20, 0.20, 0.05, 0.10, 0.05),
}


def topic_table(emotions: tuple[str, ...], coupling: float) -> np.ndarray:
    """(n_emotions, n_topics) P(topic | emotion) = coupling * table + (1 - coupling) * uniform."""
    table = np.array([TOPIC_GIVEN_EMOTION.get(e, (1.0,) * len(TOPICS)) for e in emotions], dtype=float)
    table /= table.sum(axis=1, keepdims=True)
    return coupling * table + (1.0 - coupling) / len(TOPICS)


def draw_topic(table: np.ndarray, label: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Topic index per row by inverting the row's CDF at uniform u."""
    cdf = np.cumsum(table, axis=1)[label]
    return np.minimum((u[:, None] >= cdf).sum(axis=1), table.shape[1] - 1)


def emotion_region(label: np.ndarray, n_accents: int) -> np.ndarray:
    """The region an emotion leans to (a fixed spread of class indices over the regions)."""
    return (label * 7 + 3) % n_accents


def draw_accent(home_region: np.ndarray, label: np.ndarray, n_accents: int, coupling: float,
                u: np.ndarray) -> np.ndarray:
    """Region id per row: the speaker's home region, or with chance `coupling` the emotion's region."""
    return np.where(u < coupling, emotion_region(label, n_accents), home_region)


def accent_names(region: np.ndarray) -> np.ndarray:
    return np.array([f"r{r:02d}" for r in range(int(region.max(initial=0)) + 1)], dtype=object)[region]

"""A small audio-visual fold built from numpy (no featurization): head-padded audio sequences and FER
frames whose expression disagrees with the voice at a set rate, for cmkt/dcmkt and transformer tests."""

from __future__ import annotations

import numpy as np

from semiemo.corpora.schema import FER_CLASSES
from semiemo.methods.visual_labels import TABLE2_SENTIMENT
from semiemo.train.loop import FoldData
from semiemo.train.streams import Split

SENTIMENTS = ["negative", "neutral", "positive"]
_FER_OF = {"negative": "sadness", "neutral": "neutral", "positive": "happiness"}


def av_fold(n_train: int = 60, n_unlabeled: int = 120, frames: int = 12, dim: int = 8, fer_frames: int = 6,
            inconsistency: float = 0.3, separation: float = 2.0, seed: int = 0) -> FoldData:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(3, dim)) * separation

    def audio(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lengths = rng.integers(frames // 3, frames + 1, size=len(y))
        x = np.zeros((len(y), frames, dim), np.float32)
        for i, (c, n) in enumerate(zip(y, lengths)):
            x[i, frames - n:] = centers[c] + rng.normal(size=(n, dim))  # head padding: real frames at the end
        return x, lengths

    def fer(y: np.ndarray) -> np.ndarray:
        shown = np.where(rng.random(len(y)) < inconsistency, (y + 1 + rng.integers(0, 2, len(y))) % 3, y)
        logits = rng.normal(scale=0.5, size=(len(y), fer_frames, len(FER_CLASSES)))
        for i, c in enumerate(shown):
            logits[i, :, FER_CLASSES.index(_FER_OF[SENTIMENTS[c]])] += 3.0
        p = np.exp(logits)
        return (p / p.sum(axis=2, keepdims=True)).astype(np.float32)

    def split(n: int, labeled: bool = True) -> tuple[Split, np.ndarray]:
        y = rng.integers(0, 3, size=n)
        x, ln = audio(y)
        s = Split({"audio": x, "fer": fer(y)}, {"audio": ln, "fer": np.full(n, fer_frames)},
                  np.eye(3, dtype=np.float32)[y] if labeled else None)
        return s, y

    train, _ = split(n_train)
    val, _ = split(30)
    test, _ = split(30)
    unl, y_unl = split(n_unlabeled, labeled=False)
    assert set(TABLE2_SENTIMENT.values()) == set(SENTIMENTS)
    return FoldData(train=train, val=val, test=test, unlabeled=unl, unlabeled_oracle=y_unl, class_names=SENTIMENTS)

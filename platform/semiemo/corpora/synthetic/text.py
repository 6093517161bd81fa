"""Sentences of the synthetic corpus: a topic sentence plus, maybe, one emotion word.

Text is informative but never perfect: with the domain's `text_cue_prob` the sentence carries a
word of its true class, with `text_misleading_prob` a word of another class (sarcasm, quoting,
a misleading cue), otherwise a neutral filler. Acted scripts were chosen to express the emotion
(paper 000's AVD), so the acted domain carries cues far more often than the wild one.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from semiemo.corpora.schema import TOPICS

LEXICON_PATH = Path(__file__).with_name("lexicon.json")


@lru_cache(maxsize=1)
def lexicon() -> dict:
    """The shipped lexicon (emotion words, cue frames, fillers, topic sentences)."""
    with open(LEXICON_PATH, encoding="utf-8") as fh:
        lex = json.load(fh)
    missing = [t for t in TOPICS if t not in lex["topic_sentences"]]
    if missing:
        raise ValueError(f"{LEXICON_PATH}: topic_sentences lacks topics {missing}")
    return lex


def _pick(options: list[str], u: np.ndarray) -> np.ndarray:
    return np.minimum((u * len(options)).astype(int), len(options) - 1)


def compose_text(
    emotions: tuple[str, ...],
    label: np.ndarray,
    topic: np.ndarray,
    cue_prob: np.ndarray,
    misleading_prob: np.ndarray,
    u: np.ndarray,
) -> tuple[list[str], np.ndarray]:
    """Sentences for n utterances, and which emotion word each carries (-1 = none).

    label, topic: (n,) indices into `emotions` / schema.TOPICS; cue_prob, misleading_prob: (n,) per
    row (from its domain); u: (n, 5) uniforms [cue decision, word, other class, frame, sentence].
    """
    lex = lexicon()
    words = lex["emotion_words"]
    missing = [e for e in emotions if e not in words]
    if missing:
        raise ValueError(f"{LEXICON_PATH}: no emotion_words for {missing}")
    n_classes = len(emotions)
    carries_truth = u[:, 0] < cue_prob
    misleads = (~carries_truth) & (u[:, 0] < cue_prob + misleading_prob)
    other = (label + 1 + np.minimum((u[:, 2] * (n_classes - 1)).astype(int), n_classes - 2)) % n_classes
    word_class = np.where(carries_truth, label, np.where(misleads, other, -1))

    frames, fillers = lex["cue_frames"], lex["fillers"]
    frame_ix = _pick(frames, u[:, 3])
    texts: list[str] = []
    for k in range(len(label)):
        sentences = lex["topic_sentences"][TOPICS[topic[k]]]
        sentence = sentences[min(int(u[k, 4] * len(sentences)), len(sentences) - 1)]
        if word_class[k] >= 0:
            options = words[emotions[word_class[k]]]
            word = options[min(int(u[k, 1] * len(options)), len(options) - 1)]
            clause = frames[frame_ix[k]].format(word=word)
        else:
            clause = fillers[min(int(u[k, 1] * len(fillers)), len(fillers) - 1)]
        texts.append(f"{sentence[0].upper()}{sentence[1:]}, {clause}.")
    return texts, word_class

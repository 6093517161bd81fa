"""The synthetic corpus gives mmmd what paper 000's data gives it, measured by linear probes on its oracle.

Probes: 5-fold logistic regression on the wild rows' hidden truth (`oracle_label`), one modality at a
time, scored by UA (chance 1/6): audio = the prosodic voice settings the generator renders (pitch,
range, rate, volume; an upper bound of what the acoustic features can recover), text = bag of words
of the sentence, topic and accent = their one-hots. Paper 000's IVD: text somewhat more informative
than audio and complementary to it (Fig. 5d: T > A, T+A > both), topic weakly and accent more weakly
informative; AVD: strong, near-balanced classes without boredom.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import cross_val_predict

from semiemo.corpora import parse_synthetic_spec
from semiemo.corpora.synthetic.generator import _plan

# the corpus options mmmd's analyses use for the text/audio balance of paper 000's IVD
PAPER_000_SPEC = "acted=600,wild_labeled=1500,unlabeled=0,wild_text_cue_prob=0.6,wild_expression_strength=0.3"


def _probe(x: np.ndarray, y: np.ndarray) -> float:
    pred = cross_val_predict(LogisticRegression(max_iter=1000, class_weight="balanced"), x, y, cv=5)
    return float(balanced_accuracy_score(y, pred))


def measure(spec: str) -> dict:
    """UA of each modality's probe on the wild rows, plus the acted labels."""
    cfg = parse_synthetic_spec(spec)
    plan = _plan(cfg, np.arange(cfg.n_total))
    wild = plan["domain"] == 1
    y = plan["label"][wild]
    voice = np.stack([plan["voice"][k] for k in ("pitch", "range", "rate", "volume")], axis=1)[wild].astype(float)
    audio = (voice - voice.mean(0)) / voice.std(0)
    text = CountVectorizer().fit_transform(np.asarray(plan["text"])[wild]).toarray()
    topic, accent = np.eye(7)[plan["topic"][wild]], np.eye(cfg.n_accents)[plan["accent"][wild]]
    return {"audio": _probe(audio, y), "text": _probe(text, y), "topic": _probe(topic, y),
            "accent": _probe(accent, y), "audio+text": _probe(np.hstack([audio, text]), y),
            "acted_labels": plan["label"][~wild], "emotions": cfg.emotions}


@pytest.fixture(scope="module")
def probes():
    return measure(PAPER_000_SPEC)


def test_wild_text_is_more_informative_than_audio_and_complementary(probes):
    assert probes["text"] > probes["audio"] > 1 / 6 + 0.1
    assert probes["audio+text"] > probes["text"] + 0.03


def test_topic_is_weakly_and_accent_more_weakly_informative(probes):
    chance = 1 / 6
    assert chance + 0.02 < probes["accent"] < probes["topic"] < probes["audio"]


def test_acted_domain_has_no_boredom_and_near_balanced_classes(probes):
    counts = np.bincount(probes["acted_labels"], minlength=len(probes["emotions"]))
    assert counts[probes["emotions"].index("boredom")] == 0
    present = counts[counts > 0]
    assert len(present) == 5 and present.max() / present.min() < 2.0


def test_wild_overrides_default_to_todays_corpus():
    default = parse_synthetic_spec("")
    assert default.wild_text_cue_prob is None and default.wild.text_cue_prob == 0.4
    assert default.wild.expression_strength == 0.45


def test_a_cue_rate_that_leaves_no_room_for_misleading_words_names_the_option_and_its_bound():
    with pytest.raises(ValueError, match=r"wild_text_cue_prob=0\.9: .* use wild_text_cue_prob <= 0\.85"):
        parse_synthetic_spec("wild_text_cue_prob=0.9")
    assert parse_synthetic_spec("wild_text_cue_prob=0.85").wild.text_cue_prob == 0.85

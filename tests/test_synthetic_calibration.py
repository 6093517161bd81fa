"""Each synthetic preset carries its paper's premise, measured on generated rows (corpora/synthetic/CALIBRATION.md)."""

from __future__ import annotations

import numpy as np
import pytest

from semiemo.corpora import load_corpus
from semiemo.corpora.schema import FER_CLASSES, TABLE2_SENTIMENT


@pytest.fixture(scope="module")
def chsims():
    return load_corpus("synthetic:preset=cmkt_chsims")


def _track_probs(rows) -> np.ndarray:
    p = np.stack([np.asarray(np.stack(list(f)), dtype=np.float32).reshape(-1, len(FER_CLASSES)).mean(0)
                  for f in rows["fer_probs"]])
    return p / p.sum(1, keepdims=True)


def test_paper_003_visual_labels_on_the_pool_have_the_accuracy_table_2_implies(chsims):
    # Table 2: 51.81 % audio-visual inconsistency on CH-SIMS -> the visual sentiment agrees with the truth 48.19 %
    pool = chsims[~chsims["labeled"]]
    visual = np.array([TABLE2_SENTIMENT[FER_CLASSES[i]] for i in _track_probs(pool).argmax(1)])
    truth = pool["oracle_label"].map(TABLE2_SENTIMENT).to_numpy()
    assert abs(float((visual == truth).mean()) - (1 - 0.5181)) < 0.02


def test_paper_003_fer_confidences_reach_above_0_9_for_a_realistic_share(chsims):
    share = float((_track_probs(chsims[~chsims["labeled"]]).max(1) > 0.9).mean())
    assert 0.15 <= share <= 0.35     # CALIBRATION.md: 0.236 of track means (62 % of frames)


# --- papers 000, 001, 002, 004 and the default pool: measured on generated rows, no audio rendered -------------
# "voice" is what the generator tells espeak per utterance (pitch, range, rate, volume): the acoustic signal at its
# source. Features extracted from the rendered audio (eGeMAPS, IS10, pYIN) can only carry less of it; their
# values are measured by the commands in CALIBRATION.md, not here (rendering and openSMILE are not fast).
def _voice(rows) -> np.ndarray:
    from semiemo.corpora.synthetic import generator

    cfg = generator._parse_config(rows["synth_config"].iloc[0])
    v = generator._plan(cfg, rows["synth_index"].to_numpy())["voice"]
    return np.stack([v["pitch"], v["range"], v["rate"], v["volume"]], axis=1).astype(float)


def _face(rows) -> np.ndarray:
    return np.stack([np.stack(list(f)).astype(np.float32).mean(0) for f in rows["face_features"]])


def _words(rows) -> np.ndarray:
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(min_df=2).fit_transform(rows["text"].fillna("")).toarray().astype(float)


def _classifier():
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=[0.003, 0.03, 0.3, 3], cv=3, max_iter=3000))


def speaker_cv_ua(x: np.ndarray, y: np.ndarray, speakers: np.ndarray) -> float:
    """Unweighted accuracy of a linear classifier under speaker-independent 5-fold CV."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import GroupKFold, cross_val_predict

    return float(balanced_accuracy_score(y, cross_val_predict(_classifier(), x, y, groups=speakers, cv=GroupKFold(5))))


def transfer_ua(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> float:
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(y_test, _classifier().fit(x_train, y_train).predict(x_test)))


CMDM = "synthetic:acted=400,wild_labeled=0,unlabeled=0,emotions=anger;happiness;neutral;sadness"
SSGAN = "synthetic:n_acted=270,n_wild_labeled=300,n_unlabeled=0"
SSGAN_AROUSAL = {"neutral": "medium", "disgust": "medium", "sadness": "low", "boredom": "low", "anger": "high",
                 "happiness": "high"}   # search_spaces/ssgan_table6_arousal_multimodal.yaml
MMMD = "synthetic:acted=600,wild_labeled=900,unlabeled=0,seed=0,wild_text_cue_prob=0.6,wild_expression_strength=0.3"


@pytest.mark.parametrize("modality, floor", [("voice", 0.90), ("face", 0.38), ("words", 0.70)])
def test_paper_001_each_modality_alone_recognises_the_emotion(modality, floor):
    # CALIBRATION.md: voice 0.971, face 0.460 (the face shows the voice's emotion half the time), words 0.815; chance 0.25
    rows = load_corpus(CMDM)
    x = {"voice": _voice, "face": _face, "words": _words}[modality](rows)
    assert speaker_cv_ua(x, rows["label"].to_numpy(), rows["speaker"].to_numpy()) >= floor


@pytest.mark.parametrize("modality, floor", [("voice", 0.78), ("face", 0.45)])
def test_paper_002_each_modality_alone_recognises_the_arousal_level(modality, floor):
    # CALIBRATION.md: voice 0.878, face 0.548 on the 3 arousal levels; chance 0.333
    rows = load_corpus(SSGAN)
    x = {"voice": _voice, "face": _face}[modality](rows)
    y = rows["label"].map(SSGAN_AROUSAL).to_numpy()
    assert speaker_cv_ua(x, y, rows["speaker"].to_numpy()) >= floor


def test_paper_000_acted_domain_informs_the_wild_one():
    # CALIBRATION.md: trained on acted rows only, words reach 0.523 UA on the wild rows (0.444 trained on wild rows,
    # speaker CV), the voice 0.278 (chance 1/6 = 0.167): the acted set transfers through the text, weakly the voice
    rows = load_corpus(MMMD + ",visual_in_manifest=false")
    acted, wild = (rows["domain"] == "acted").to_numpy(), (rows["domain"] == "wild").to_numpy()
    y = rows["label"].to_numpy()
    words, voice = _words(rows), _voice(rows)
    assert transfer_ua(words[acted], y[acted], words[wild], y[wild]) >= 0.45
    assert transfer_ua(voice[acted], y[acted], voice[wild], y[wild]) >= 1 / 6 + 0.04


def test_paper_004_proxy_labels_agree_with_the_hidden_affect_above_chance():
    # CALIBRATION.md: on the pre-training pool (PretrainConfig.corpus, wild_text_cue_prob=0.8) the arousal proxy
    # (eq. 1-2 on the voice's pitch and volume) agrees with the hidden arousal 0.650 and calls 47 % high (Table 1:
    # 47.7 %); the valence proxy (eq. 3-4, transcripts) agrees 0.617 and calls 49 % positive (Table 1: 58.1 %).
    # Their mean clears the avspnet analyses' teacher premise (chance 0.5 + 0.1); at the wild domain's default
    # cue rate (0.4) valence agreed 0.537 (0.508 on the 120-row pool of `full`) and the premise failed.
    from semiemo import proxy_labels as pl
    from semiemo.recipes.avspnet_pretrain import PretrainConfig, hidden_truth

    cfg = PretrainConfig()
    rows = load_corpus(cfg.corpus)
    groups = pl.baseline_groups(rows["speaker"].astype(str).tolist())
    voice = _voice(rows)
    arousal = pl.proxy_arousal(voice[:, 0], voice[:, 3], groups, pl.ProxyConfig())
    valence = pl.proxy_valence(rows["text"].tolist(), groups, pl.dictionaries(cfg.dictionaries),
                               pl.TOKENIZERS[cfg.tokenizer], pl.ProxyConfig())
    assert pl.proxy_accuracy(arousal.label, hidden_truth(rows, "arousal")) >= 0.6
    assert abs(arousal.high_share() - 9581 / 20082) < 0.05
    valence_agreement = pl.proxy_accuracy(valence.label, hidden_truth(rows, "valence"))
    assert valence_agreement >= 0.58
    assert (pl.proxy_accuracy(arousal.label, hidden_truth(rows, "arousal")) + valence_agreement) / 2 >= 0.5 + 0.1


def test_default_pool_has_cluster_structure_in_the_voice_it_is_spoken_with():
    # CALIBRATION.md: 10-NN label purity of the default pool's voice settings 0.557 against chance Σp² = 0.302;
    # eGeMAPS of the rendered audio keeps less of it (0.40 in issue 23)
    from sklearn.preprocessing import StandardScaler

    from semiemo.corpora.synthetic.clusters import knn_purity

    pool = load_corpus("synthetic:visual_in_manifest=false")
    pool = pool[~pool["labeled"]]
    y = pool["oracle_label"].to_numpy()
    shares = np.unique(y, return_counts=True)[1] / len(y)
    purity = knn_purity(StandardScaler().fit_transform(_voice(pool)), y)
    assert purity >= (shares ** 2).sum() + 0.2

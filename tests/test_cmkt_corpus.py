"""Synthetic options for paper 003: an unlabeled pool from its own domain (domain + prior shift) and an
audio-visual inconsistency measured after the Table 2 map; defaults leave today's corpus unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from semiemo.corpora import parse_synthetic_spec
from semiemo.corpora.schema import FER_CLASSES
from semiemo.corpora.synthetic.config import SynthConfig
from semiemo.corpora.synthetic.generator import synthesize_manifest
from semiemo.methods.visual_labels import TABLE2_SENTIMENT


def test_default_config_json_does_not_mention_the_new_options():
    js = SynthConfig().to_json()
    assert "unlabeled_domain" not in js and "av_inconsistency_groups" not in js
    assert SynthConfig.from_json(js) == SynthConfig()


def test_cmkt_preset_gives_a_shifted_unlabeled_pool_and_the_papers_inconsistency_after_the_map():
    cfg = parse_synthetic_spec("preset=cmkt_chsims,wild_labeled=60,unlabeled=1200")
    df = synthesize_manifest(cfg)
    unl = df[~df["labeled"]]
    assert set(unl["domain"]) == {"wild_unlabeled"} and set(df[df["labeled"]]["domain"]) == {"wild"}
    assert not set(unl["speaker"]) & set(df[df["labeled"]]["speaker"])
    assert (unl["oracle_label"] == "neutral").mean() == pytest.approx(0.5, abs=0.02)   # prior shift
    fer = np.stack([np.stack([np.asarray(f, float) for f in r]) for r in unl["fer_probs"]]).mean(axis=1)
    sentiments = sorted(set(TABLE2_SENTIMENT.values()))
    group = np.array([sentiments.index(TABLE2_SENTIMENT[c]) for c in FER_CLASSES])
    visual = np.stack([fer[:, group == g].sum(axis=1) for g in range(3)], axis=1).argmax(axis=1)
    truth = np.array([sentiments.index(TABLE2_SENTIMENT[e]) for e in unl["oracle_label"]])
    assert (visual != truth).mean() == pytest.approx(0.5181, abs=0.04)                  # paper 003 Fig. 1


def test_inconsistency_groups_must_cover_every_emotion():
    with pytest.raises(ValueError, match="no group"):
        SynthConfig(emotions=("neutral", "anger"), av_inconsistency_groups={"neutral": "a"})


def test_the_pipeline_feeds_the_fer_featurizer_from_fer_probs_alone():
    import pandas as pd

    from semiemo.features.pipeline import _call, _check_columns
    from semiemo.features.registry import make_featurizer

    frames = [[[1.0 / 7] * 7] * 5, [[0.0, 1.0, 0, 0, 0, 0, 0]] * 3]
    rows = pd.DataFrame({"utt_id": ["a", "b"], "fer_probs": frames})   # no visual_path column at all
    fer = make_featurizer("fer")
    _check_columns(rows, [fer])
    out = _call(fer, rows, [None, None], [0, 1], fer.schema())
    assert out["fer"].shape == (2, 18, 7) and out["length"].tolist() == [5, 3]
    with pytest.raises(ValueError, match="none of them"):
        _check_columns(pd.DataFrame({"utt_id": ["a"]}), [fer])

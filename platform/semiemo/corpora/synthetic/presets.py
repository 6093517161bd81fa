"""Named SynthConfig presets for analyses whose corpus needs nested options ('synthetic:preset=NAME,...').

cmkt_chsims — paper 003's CH-SIMS + iQIYI-VID setting (spec 003 §3): a small labeled wild set with the
seven FER expressions as emotions (the analyses map them to 3 sentiments with Table 2), an unlabeled
pool 10x larger from another domain (weaker expression, noisier, other speakers) with a neutral-heavy
prior, faces that show another sentiment than the voice at a rate chosen so that the FER teacher's
visual labels disagree with the audio truth at ≈ 0.5181 after the map (paper 003 Fig. 1), and a FER
teacher that is itself noisy (`fer_accuracy`).
cmkt_iemocap — the IEMOCAP + EmoVoxCeleb layout: acted labeled speech (4 classes) with sessions from
the speaker pool, and a wild neutral-heavy unlabeled pool.
"""

from __future__ import annotations

from typing import Any

from semiemo.corpora.schema import TABLE2_SENTIMENT

FER_EMOTIONS = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"]

PRESETS: dict[str, dict[str, Any]] = {
    "cmkt_chsims": {
        "emotions": FER_EMOTIONS,
        "n_acted": 0, "n_wild_labeled": 300, "n_unlabeled": 3000,
        # labeled target set: sentiment shares negative 50 / neutral 20 / positive 30
        "wild": {"n_speakers": 300, "female_share": 0.5, "expression_strength": 0.6, "snr_db": [10.0, 30.0],
                 "text_cue_prob": 0.4, "text_misleading_prob": 0.15, "vote_agreement": 0.6,
                 "class_shares": {"neutral": 20, "happiness": 22, "surprise": 8, "sadness": 15, "anger": 15,
                                  "disgust": 12, "fear": 8}},
        # unlabeled pool: domain shift (weaker, noisier, other speakers) and prior shift (neutral 50 %)
        "unlabeled_domain": {"n_speakers": 2000, "female_share": 0.5, "expression_strength": 0.35,
                             "snr_db": [0.0, 20.0], "text_cue_prob": 0.3, "text_misleading_prob": 0.2,
                             "vote_agreement": 0.5,
                             "class_shares": {"neutral": 50, "happiness": 14, "surprise": 6, "sadness": 10,
                                              "anger": 10, "disgust": 6, "fear": 4}},
        "av_inconsistency_groups": dict(TABLE2_SENTIMENT),
        "av_inconsistency_rate": 0.495,
        "fer_accuracy": 0.85,
    },
    "cmkt_iemocap": {
        "emotions": ["neutral", "happiness", "sadness", "anger"],
        "n_acted": 600, "n_wild_labeled": 0, "n_unlabeled": 3000,
        "acted": {"n_speakers": 10, "female_share": 0.5, "expression_strength": 0.8, "snr_db": None,
                  "text_cue_prob": 0.6, "text_misleading_prob": 0.1, "vote_agreement": 0.8,
                  "class_shares": {"neutral": 31, "happiness": 30, "sadness": 19, "anger": 20}},
        "wild": {"n_speakers": 2000, "female_share": 0.5, "expression_strength": 0.35, "snr_db": [0.0, 20.0],
                 "text_cue_prob": 0.3, "text_misleading_prob": 0.2, "vote_agreement": 0.5,
                 "class_shares": {"neutral": 55, "happiness": 20, "sadness": 10, "anger": 15}},
        "av_inconsistency_rate": 0.5,
        "fer_accuracy": 0.85,
    },
}


def preset(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise ValueError(f"unknown synthetic preset {name!r}; available: {sorted(PRESETS)}")
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in PRESETS[name].items()}

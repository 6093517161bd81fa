"""Small separable FeatureSets built straight from numpy, for trainer tests (no featurization)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from semiemo.features.featureset import FeatureSet

CLASSES = ("anger", "happiness", "neutral", "sadness")


def gaussian_featureset(n_per_class_speaker: int = 10, speakers: int = 4, dim: int = 16, unlabeled: int = 0,
                        separation: float = 3.0, seed: int = 0, text_dim: int = 0) -> FeatureSet:
    """Gaussian class clusters; each labeled speaker holds every class; unlabeled rows carry an oracle label."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, separation / np.sqrt(dim), size=(len(CLASSES), dim)) * np.sqrt(dim) / 2
    rows, feats, texts = [], [], []
    for s in range(speakers):
        for c, name in enumerate(CLASSES):
            for i in range(n_per_class_speaker):
                feats.append(centers[c] + rng.normal(size=dim))
                rows.append({"utt_id": f"s{s}_{name}_{i}", "corpus": "gauss", "split_group": f"spk{s}",
                             "speaker": f"spk{s}", "domain": "acted", "labeled": True, "label": name,
                             "oracle_label": None, "gender": "f" if s % 2 else "m"})
    for i in range(unlabeled):
        c = int(rng.integers(len(CLASSES)))
        feats.append(centers[c] + rng.normal(size=dim))
        rows.append({"utt_id": f"u{i}", "corpus": "gauss", "split_group": "pool", "speaker": "pool",
                     "domain": "wild", "labeled": False, "label": None, "oracle_label": CLASSES[c], "gender": None})
    x = np.asarray(feats, dtype=np.float32)
    groups = {"egemaps": x}
    if text_dim:
        groups["text"] = rng.normal(size=(len(x), text_dim)).astype(np.float32)
    return FeatureSet(manifest=pd.DataFrame(rows), groups=groups)

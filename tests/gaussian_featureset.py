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


def gaussian_fold_data(separation: float = 3.0, unlabeled: int = 0, seed: int = 0, identical_rows: bool = False):
    """One FoldData of `gaussian_featureset` rows: 100 train, 30 val, the rest test (+ the unlabeled pool).

    `identical_rows`: every training row is the same utterance (only the RNG can tell DDP ranks apart)."""
    from semiemo.train.loop import FoldData
    from semiemo.train.streams import Split

    fs = gaussian_featureset(n_per_class_speaker=10, speakers=4, dim=16, unlabeled=unlabeled, separation=separation, seed=seed)
    m = fs.manifest
    lab = np.flatnonzero(m["labeled"].to_numpy())
    y = np.array([CLASSES.index(c) for c in m.loc[lab, "label"]])
    onehot = np.eye(len(CLASSES), dtype=np.float32)[y]
    order = np.random.default_rng(seed).permutation(len(lab))
    parts = {"train": order[:100], "val": order[100:130], "test": order[130:]}
    if identical_rows:
        parts["train"] = np.repeat(order[:1], 100)
    x = fs.groups["egemaps"]
    split = lambda p: Split({"egemaps": x[lab[parts[p]]]}, targets=onehot[parts[p]])  # noqa: E731
    unl = np.flatnonzero(~m["labeled"].to_numpy())
    oracle = np.array([CLASSES.index(c) for c in m.loc[unl, "oracle_label"]]) if len(unl) else None
    return FoldData(train=split("train"), val=split("val"), test=split("test"),
                    unlabeled=Split({"egemaps": x[unl]}) if len(unl) else None, unlabeled_oracle=oracle,
                    class_names=list(CLASSES))

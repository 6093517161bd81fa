"""A corpus with cluster structure by construction: the positive control for semi-supervised learning.

C Gaussian class clusters in D dimensions (unit-variance noise around centres drawn once per seed at a
`separation`), a few labeled rows per class, a large unlabeled pool and a large test set, laid out for
the `fixed` protocol (`split`: train / dev / test). The cluster assumption holds by construction, so
every method that learns from unlabeled data should beat supervised learning here when it is given
enough optimisation: if none does, the platform (budget, selection, implementation) is at fault, not
the paper. The vectors travel in the manifest column `cluster_features`, read by the `clusters`
featurizer; no audio.

    clusters:classes=6,dims=20,per_class=5,val_per_class=10,unlabeled=3000,test=1200,separation=2.2,seed=0

Measured calibration (defaults; `tests/test_cluster_corpus.py` pins it, `corpora/synthetic/CALIBRATION.md`
states it): 10-NN label purity of the pool ≈ 0.87 against chance 1/6.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

COLUMN = "cluster_features"


@dataclass(frozen=True)
class ClusterConfig:
    classes: int = 6            # C
    dims: int = 20              # D (the `clusters` featurizer's default width)
    per_class: int = 5          # labeled training rows per class (6 × 5 = 30 labels)
    val_per_class: int = 10     # labeled validation rows per class (model selection)
    unlabeled: int = 3000       # pool rows (their class kept hidden in `oracle_label`)
    test: int = 1200            # test rows, classes balanced
    separation: float = 2.2     # distance scale of the class centres, in noise sds
    seed: int = 0


MINIMUM = {"classes": 2, "dims": 1, "per_class": 1, "val_per_class": 0, "unlabeled": 0, "test": 0}


def parse_cluster_spec(rest: str) -> ClusterConfig:
    """`classes=6,dims=20,...` -> ClusterConfig; an unknown key names the allowed ones."""
    allowed = {f.name: f.type for f in fields(ClusterConfig)}
    values: dict[str, object] = {}
    for part in filter(None, (rest or "").split(",")):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in allowed:
            raise ValueError(f"clusters corpus option {part!r}: expected key=value with key one of {sorted(allowed)}")
        kind = float if key == "separation" else int
        try:
            values[key] = kind(raw.strip())
        except ValueError:
            raise ValueError(f"clusters corpus option {key}={raw.strip()!r}: expected {'a number' if kind is float else 'an integer'}"
                             f", e.g. clusters:{key}={getattr(ClusterConfig, key)}") from None
    cfg = ClusterConfig(**values)  # type: ignore[arg-type]
    for key, least in MINIMUM.items():
        if getattr(cfg, key) < least:
            raise ValueError(f"clusters corpus option {key}={getattr(cfg, key)}: expected ≥ {least}, "
                             f"e.g. clusters:{key}={getattr(ClusterConfig, key)}")
    return cfg


def class_names(cfg: ClusterConfig) -> list[str]:
    return [f"class{c}" for c in range(cfg.classes)]


def centres(cfg: ClusterConfig) -> np.ndarray:
    """[C, D] class centres: Gaussian directions scaled so two centres lie ≈ separation·√2 noise sds apart."""
    rng = np.random.default_rng([cfg.seed, 7])
    return rng.normal(0.0, cfg.separation, size=(cfg.classes, cfg.dims))


def cluster_manifest(cfg: ClusterConfig) -> pd.DataFrame:
    """The manifest: train (labeled, per_class each), dev, test (labeled) and the unlabeled pool (split train)."""
    rng = np.random.default_rng([cfg.seed, 11])
    mu = centres(cfg)
    names = class_names(cfg)
    parts = [("train", True, np.repeat(np.arange(cfg.classes), cfg.per_class)),
             ("dev", True, np.repeat(np.arange(cfg.classes), cfg.val_per_class)),
             ("test", True, np.arange(cfg.test) % cfg.classes),
             ("train", False, rng.integers(cfg.classes, size=cfg.unlabeled))]
    rows = []
    for split, labeled, ys in parts:
        for y in ys:
            i = len(rows)
            x = mu[y] + rng.normal(size=cfg.dims)
            rows.append({"utt_id": f"cl{i:06d}", "corpus": "clusters", "split_group": f"{split}{'' if labeled else '_pool'}",
                         "speaker": f"g{i % 50}", "domain": "acted", "labeled": labeled, "split": split,
                         "label": names[y] if labeled else None, "oracle_label": names[y],
                         COLUMN: x.astype(np.float32).tolist()})
    return pd.DataFrame(rows)


def knn_purity(x: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    """Share of each row's k nearest neighbours (itself excluded) with its class: the cluster assumption, measured."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k + 1).fit(x)
    idx = nn.kneighbors(x, return_distance=False)[:, 1:]
    return float((y[idx] == y[:, None]).mean())

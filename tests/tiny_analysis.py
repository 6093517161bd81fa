"""The smallest analysis spec `reproduce --all` can run: two learning rates, one seed, one fold, one epoch
of a supervised MLP on the Gaussian feature set. Tests of the `--all` machinery (resume, pieces, index)
use it so that what they time is the machinery, not training."""

from __future__ import annotations


def tiny_spec(name: str, corpus: str = "gauss") -> dict:
    return {
        "name": name, "paper": "000 Fig. 5a",
        "experiment": {"corpus": corpus, "features": ["egemaps"], "method": "supervised", "model_hidden": [8],
                       "protocol": {"name": "speaker_kfold", "folds": 2, "max_folds": 1},
                       "train": {"epochs": 1, "batch_size": 16}},
        "parameters": {"train.lr": {"grid": [0.001, 0.01], "scale": "log", "label": "lr"}},
        "seeds": [0], "resources_per_trial": {"cpu": 1},
        "reference": {"rows": [{"paper": "000", "source": "Fig. 5(a)"}],
                      "shape": {"kind": "increasing", "description": "test"}},
        "quick": {"experiment.train.epochs": 1},
    }

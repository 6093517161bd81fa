"""Typed configuration of one experiment, validated at the edge (CLI, YAML) and passed inward."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class ProtocolConfig(_Strict):
    """How rows become folds (see `semiemo.protocols`)."""

    name: Literal["kfold", "loso", "loso_session", "speaker_kfold", "fixed", "holdout"] = "loso"
    folds: int = 5                       # kfold / speaker_kfold
    max_folds: int | None = None         # run only the first n folds (quick looks, sweeps)
    validation_fraction: float = 0.1     # of the training speakers/rows, for model selection
    group_column: str = "speaker"        # loso / speaker_kfold: the column no fold may share across train/test
    session_column: str = "session"      # loso_session (falls back to split_group when absent)
    test_fraction: float = 0.2           # holdout: stratified fraction of labeled rows for test


class TrainConfig(_Strict):
    """The trainer's knobs (not the method's)."""

    epochs: int = 30
    batch_size: int = 64                 # labeled batch size B
    mu: int = 1                          # μ: unlabeled batch = μ·B (paper 003 eq. 4)
    steps_per_epoch: int | None = None   # iteration budget; default: one pass over the labeled stream
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = 0.9                # SGD momentum (paper 004 fine-tunes with plain SGD: 0)
    workers: int = 1                     # >1: Ray Train TorchTrainer with DDP
    cpus_per_worker: float = 1.0         # Ray CPUs each DDP worker reserves (fractional on small machines)
    use_gpu: bool | None = None          # None: GPU when present
    max_failures: int = 0                # Ray Train FailureConfig
    checkpoint_metric: str = "ua"        # best checkpoint by this validation metric (mode max)
    patience: int | None = None          # early stop after n epochs without improvement
    num_threads: int | None = None       # torch intra-op threads per worker
    unlabeled_memory_budget_mb: float = 2048.0  # an external unlabeled pool larger than this (features, float32)
                                         # is streamed block by block from the feature store, not held in memory


class ExperimentConfig(_Strict):
    """One method on one corpus under one protocol, over seeds (and folds)."""

    name: str = "experiment"
    corpus: str = "synthetic"                     # a corpus spec, see `semiemo.corpora.load_corpus`
    features: list[str] = Field(default_factory=lambda: ["egemaps"])
    feature_store: str | None = None             # default: $SEMIEMO_HOME/features
    method: str = "supervised"
    method_params: dict[str, Any] = Field(default_factory=dict)
    model_hidden: tuple[int, ...] = (256, 128)
    model_dropout: float = 0.3
    fusion: Literal["early", "late"] = "early"
    protocol: ProtocolConfig = Field(default_factory=ProtocolConfig)
    label_fraction: float = 1.0                   # stratified, seeded subsample of labeled training rows
    unlabeled: str | None = None                  # external unlabeled pool: corpus spec(s) joined by '+'
                                                  # (`semiemo.corpora.unlabeled_pool`); labels there are hidden
    unlabeled_shares_speakers: bool = False       # the pool's speaker ids are the target's (default: kept apart)
    unlabeled_quantity: int | None = None         # None: the whole unlabeled pool
    unlabeled_from_rest: bool = True              # labeled training rows left out by label_fraction join the
                                                  # unlabeled pool (labels hidden; truth kept for diagnostics)
    labeled_domains: list[str] | None = None      # e.g. ["acted", "wild"]; None: all
    label_map: dict[str, str] | None = None       # e.g. {"excitement": "happiness"}
    fuzzy_labels: bool = False                    # soft targets from votes (paper 002)
    normalization: Literal["none", "self", "shift", "combine"] = "self"  # unlabeled z-score (paper 002 Fig. 7)
    seeds: list[int] = Field(default_factory=lambda: [0])
    train: TrainConfig = Field(default_factory=TrainConfig)
    output_dir: str | None = None                 # default: $SEMIEMO_HOME/runs/<name>

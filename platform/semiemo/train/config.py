"""Typed configuration of one experiment, validated at the edge (CLI, YAML) and passed inward."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from semiemo.protocols import ProtocolConfig  # noqa: F401  (re-exported: ExperimentConfig.protocol)
from semiemo.recipes.balance_config import UnlabeledBalanceConfig  # noqa: F401  (re-exported)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class TrainConfig(_Strict):
    """The trainer's knobs (not the method's)."""

    epochs: int = 30
    batch_size: int = 64                 # labeled batch size B
    mu: int = 1                          # μ: unlabeled batch = μ·B (paper 003 eq. 4)
    steps_per_epoch: int | None = None   # iteration budget; default (train.budget): max(one labeled pass,
                                         # one unlabeled pass at μ·B a step), so the pool, not the labels, sets it
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: Literal["adam", "sgd", "adamax"] = "adam"   # adamax: paper 003 §4.2
    lr_schedule: Literal["constant", "warmup_step_decay"] = "constant"  # per epoch; see train.schedules
    warmup_start_lr: float = 0.0025      # warmup_step_decay: lr of epoch 0 (paper 003: 0.0025 -> lr = 0.01)
    warmup_epochs: int = 4               # warmup_step_decay: epochs of linear warm-up (paper 003: 4)
    lr_decay_factor: float = 1.17        # warmup_step_decay: lr /= this every `lr_decay_every` epochs (paper 003)
    lr_decay_every: int = 4              # paper 003: every 4 epochs
    lr_decay_until_epoch: int = 50       # paper 003: "up to 50 epochs"; constant after
    grad_clip_norm: float | None = None  # clip the 2-norm of the full gradient (paper 003: 1.0); None: no clipping
    momentum: float = 0.9                # SGD momentum (paper 004 fine-tunes with plain SGD: 0)
    workers: int = 1                     # >1: Ray Train TorchTrainer with DDP
    cpus_per_worker: float = 1.0         # Ray CPUs each DDP worker reserves (fractional on small machines)
    use_gpu: bool | None = None          # None: GPU when present
    max_failures: int | None = None      # Ray Train worker-group restarts; None: 3 with workers > 1 (train.run_watch)
    placement_timeout_s: float = 600.0   # give up when the workers cannot be placed for this long (an autoscaler
                                         # adds a cloud node in 2-5 min); the wait is reported while it lasts
    checkpoint_metric: str = "ua"        # best checkpoint by this validation metric (mode max)
    patience: int | None = None          # early stop after n epochs without improvement
    num_threads: int | None = None       # torch intra-op threads per worker
    amp: bool | None = None              # mixed precision on CUDA (autocast + a GradScaler per optimizer);
                                         # None: on for manual-optimization methods (GANs) on CUDA only
    pool_diagnostic_rows: int | None = Field(2048, ge=1)  # the oracle diagnostics (pseudo-label accuracy,
                                         # coverage) predict a fixed random subset of this many pool rows each
                                         # epoch, not the whole pool: that pass cost 70 % of an SSGAN epoch on a
                                         # 3,000-row pool. None: every row. Methods that need the pool's
                                         # predictions (temporal ensembling) predict all of it anyway.
    unlabeled_memory_budget_mb: float = 2048.0  # an external unlabeled pool larger than this (features, float32)
                                         # is streamed block by block from the feature store, not held in memory


class ExperimentConfig(_Strict):
    """One method on one corpus under one protocol, over seeds (and folds)."""

    @field_validator("label_map")
    @classmethod
    def _known_label_map(cls, value: Any) -> Any:
        from semiemo.label_vocabulary import check_label_map

        return check_label_map(value)

    @field_validator("views", mode="before")
    @classmethod
    def _parse_views(cls, value: Any) -> Any:
        return parse_views(value)

    name: str = "experiment"
    corpus: str = "synthetic"                     # a corpus spec, see `semiemo.corpora.load_corpus`
    features: list[str] = Field(default_factory=lambda: ["egemaps"])
    feature_store: str | None = None             # default: $SEMIEMO_HOME/features
    method: str = "supervised"
    method_params: dict[str, Any] = Field(default_factory=dict)
    model_hidden: tuple[int, ...] = (256, 128)
    model_dropout: float = 0.3
    fusion: Literal["early", "late"] = "early"
    model_backbone: Literal["mlp", "transformer"] = "mlp"  # transformer: paper 003's M_θ (models.transformer_encoder)
    transformer: dict[str, Any] = Field(default_factory=dict)  # TransformerOptions overrides (layers, heads, d_model, ...)
    protocol: ProtocolConfig = Field(default_factory=ProtocolConfig)
    label_fraction: float = 1.0                   # stratified, seeded subsample of labeled training rows
    unlabeled: str | None = None                  # external unlabeled pool: corpus spec(s) joined by '+'
                                                  # (`semiemo.corpora.unlabeled_pool`); labels there are hidden
    unlabeled_shares_speakers: bool = False       # the pool's speaker ids are the target's (default: kept apart)
    unlabeled_quantity: int | None = None         # None: the whole unlabeled pool
    unlabeled_from_rest: bool = True              # labeled training rows left out by label_fraction join the
                                                  # unlabeled pool (labels hidden; truth kept for diagnostics)
    unlabeled_balance: UnlabeledBalanceConfig | None = None  # paper 001: class-balance the pool (None: off)
    labeled_domains: list[str] | None = None      # e.g. ["acted", "wild"]; None: all
    single_stream_domains: list[str] | None = None  # labeled training domains of methods without phases (paper
                                                  # 000's baselines train on IVD only); phased methods pick their
                                                  # own rows by domain; None: all
    label_map: dict[str, str] | str | None = "canonical"  # class names: "canonical" (the shared emotion vocabulary,
                                                  # `semiemo.label_vocabulary`), "none", a corpus name ("emodb"),
                                                  # "code:label;..." or a dict on top of the canonical names
    fuzzy_labels: bool = False                    # soft targets from votes (paper 002)
    normalization: Literal["none", "self", "shift", "combine"] = "self"  # unlabeled z-score (paper 002 Fig. 7)
    views: dict[str, int] = Field(default_factory=dict)  # stored audio views the methods' weak / strong views come
                                                  # from: policy -> K ({"weak": 4, "strong": 4}, CLI "weak:4,strong:4"),
                                                  # made by `featurize --views K --augment POLICY`; {}: feature-space views
    views_seed: int = 0                           # the views' --augment-seed (part of their store key)
    seeds: list[int] = Field(default_factory=lambda: [0])
    train: TrainConfig = Field(default_factory=TrainConfig)
    output_dir: str | None = None                 # default: $SEMIEMO_HOME/runs/<name>


def parse_views(value: Any) -> dict[str, int]:
    """'weak:4,strong:4' (or a mapping) -> {'weak': 4, 'strong': 4}; '' / 'none' / None -> {} (feature-space views)."""
    from semiemo.features.augment_policies import POLICIES

    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "feature")):
        return {}
    if isinstance(value, str):
        items = {}
        for part in (p.strip() for p in value.split(",") if p.strip()):
            policy, sep, k = part.partition(":")
            if not sep or not k.strip().isdigit():
                raise ValueError(f"views: expected POLICY:K items such as 'weak:4,strong:4', got {part!r}")
            items[policy.strip()] = int(k)
        value = items
    if not isinstance(value, dict):
        raise ValueError(f"views: expected 'weak:4,strong:4' or a mapping policy -> K, got {value!r}")
    for policy, k in value.items():
        if policy not in POLICIES:
            raise ValueError(f"views: unknown audio-view policy {policy!r}; allowed: {list(POLICIES)}")
        if int(k) < 1:
            raise ValueError(f"views: K of {policy!r} must be at least 1, got {k}")
    return {str(p): int(k) for p, k in value.items()}

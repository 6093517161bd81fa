"""The one interface every learning algorithm implements.

A method is the paper's algorithm box: it owns its networks and its hyperparameters, and turns a
labeled batch and an unlabeled batch into named losses. It never touches Ray, files or loggers —
the trainer (`semiemo.train`) moves tensors to the device, wraps trainable nets for DDP, steps the
optimizer, logs whatever `train_step` returns, and checkpoints `state_dict()`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from semiemo.methods.plan import Phase, PhasePlan, TrainingPlan, step_optimizer  # noqa: F401  (Phase, PhasePlan: re-exported)
from semiemo.models.spec import ModelSpec  # noqa: F401  (re-exported: a method's constructor argument)


@dataclass
class StoredViews:
    """Stored audio views of a batch's rows under one policy, drawn by the trainer (`train.view_bank`).

    `draws[d]` maps feature group -> [B, *shape]: for each row one of its stored views (distinct views
    across draws where the row has enough). `present[i]` is False where row i has no stored views (its
    rendering failed, or it came from a pool that was never featurized with views): those rows get the
    feature-space view instead (`methods.views`).
    """

    draws: tuple[dict[str, torch.Tensor], ...]
    present: torch.Tensor

    def to(self, device: torch.device | str) -> "StoredViews":
        return StoredViews(tuple({k: v.to(device) for k, v in d.items()} for d in self.draws), self.present.to(device))


@dataclass
class Batch:
    """A minibatch. `inputs` maps feature group -> tensor [B, ...].

    `targets` are class distributions [B, C] (one-hot for hard labels, soft for fuzzy labels from
    votes); `labels` is their argmax [B] (or -1 where unknown). `index` is each row's position in the
    training pool, so methods can keep per-sample state (temporal ensembling). `lengths` holds valid
    lengths of padded sequence groups. `stored_views` maps an audio-view policy ("weak", "strong") to
    stored views of these rows, when the run has them (empty: feature-space views only).
    """

    inputs: dict[str, torch.Tensor]
    index: torch.Tensor
    targets: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    lengths: dict[str, torch.Tensor] = field(default_factory=dict)
    stored_views: dict[str, StoredViews] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def to(self, device: torch.device | str) -> "Batch":
        mv = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Batch(
            inputs={k: v.to(device, non_blocking=True) for k, v in self.inputs.items()},
            index=self.index.to(device),
            targets=mv(self.targets),
            labels=mv(self.labels),
            lengths={k: v.to(device) for k, v in self.lengths.items()},
            stored_views={k: v.to(device) for k, v in self.stored_views.items()},
        )


@dataclass
class StepInfo:
    """Where training stands, for ramp-ups and curricula."""

    epoch: int
    step: int            # global optimizer step
    total_steps: int
    num_epochs: int
    phase: str | None = None  # name of the current Phase, for methods that declare phases (else None)


class Method(nn.Module):
    """Base of gradient-trained methods.

    Subclasses set `name`, `HParams` (a dataclass: each field the paper's default and a one-line
    comment naming the paper's symbol), `consumes_unlabeled`, build their nets in `__init__`, and
    implement `train_step`. The trainer calls, per step: `train_step` -> backward on `losses["loss"]`
    -> optimizer step -> `after_optimizer_step`. `trainable` lists the sub-modules the trainer wraps
    with DDP (their forward passes are what synchronise gradients).
    """

    name: ClassVar[str] = ""
    HParams: ClassVar[type] = type(None)
    consumes_unlabeled: ClassVar[bool] = False
    trainable: ClassVar[tuple[str, ...]] = ("model",)

    def __init__(self, spec: ModelSpec, hparams: Any, num_unlabeled: int = 0) -> None:
        super().__init__()
        self.spec = spec
        self.hp = hparams
        self.num_unlabeled = num_unlabeled

    # --- the algorithm -------------------------------------------------------------------------
    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        """Return named losses and diagnostics; `loss` is the total the trainer back-propagates."""
        raise NotImplementedError

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Class logits [B, C] for evaluation."""
        return self.model(inputs)  # type: ignore[attr-defined]

    @classmethod
    def plan(cls, hp: Any) -> TrainingPlan:
        """What this method asks of the trainer (`semiemo.methods.plan`), from its hyperparameters alone.
        Default: one labeled pass per epoch, one optimizer the trainer steps, selection from epoch 0."""
        return TrainingPlan(uses_unlabeled=cls.consumes_unlabeled)

    def stored_view_draws(self) -> dict[str, int]:
        """Distinct stored views of one row this method compares within a step, per policy (`--views`).

        The trainer refuses a run whose stored views have fewer: with K = 1 both draws of a row are the
        same input, so a consistency term between them measures nothing. Default: none compared."""
        return {}

    # --- optional hooks ------------------------------------------------------------------------

    def after_optimizer_step(self, info: StepInfo) -> None:
        """E.g. EMA teacher update."""

    def on_epoch_start(self, info: StepInfo) -> None:
        """E.g. curriculum phase switch."""

    def on_epoch_end(self, info: StepInfo, unlabeled_predictions: torch.Tensor | None = None) -> dict[str, float]:
        """E.g. temporal-ensemble update or pseudo-label refresh. May return diagnostics.
        `unlabeled_predictions`: softmax of `predict` over the pool (row i = unlabeled Batch.index i), in
        eval mode, when the plan sets `pool_predictions`; else None."""
        return {}

    @classmethod
    def side_groups(cls, hparams: Any) -> tuple[str, ...]:
        """Feature groups the method reads as side inputs (e.g. FER probabilities for visual pseudo-labels),
        not as model inputs: the experiment leaves them raw (no z-score)."""
        return ()

    def pseudo_label_diagnostics(self, unlabeled_predictions: torch.Tensor, pool: Batch) -> dict[str, torch.Tensor]:
        """Named pseudo-labels [N] for the whole unlabeled pool (-1: the row gets none), from the epoch's
        eval-mode predictions [N, C] and the pool as one Batch. Where an oracle exists the trainer logs each
        one's accuracy, coverage and class histogram per epoch. Default: none."""
        return {}

    def parameters_for_optimizer(self) -> list[nn.Parameter]:
        """Trainable parameters of `trainable`; frozen ones (requires_grad False) are left out."""
        return [p for n in self.trainable for p in getattr(self, n).parameters() if p.requires_grad]

    # --- pretrained weights (the plan's `pretrained` requests; e.g. paper 004's front-end) -----
    def load_pretrained(self, slot: str, state: dict[str, torch.Tensor]) -> None:
        raise KeyError(f"{type(self).__name__} has no pretrained slot {slot!r}")

    # --- several optimizers (a plan with `MethodStepped` optimizers) ------------------------------
    def configure_optimizers(self, train_config: Any) -> dict[str, torch.optim.Optimizer]:
        """name -> optimizer over this method's (possibly DDP-wrapped) nets; called once by the trainer."""
        raise NotImplementedError(f"{type(self).__name__} plans MethodStepped optimizers but has no configure_optimizers")

    def attach_optimizers(self, optimizers: dict[str, torch.optim.Optimizer],
                          scalers: dict[str, Any] | None = None) -> None:
        """The trainer hands over the optimizers (and CUDA AMP GradScalers, one per optimizer)."""
        self._optimizers, self._scalers = optimizers, dict(scalers or {})

    def step_optimizer(self, name: str, loss: torch.Tensor) -> None:
        """One update of optimizer `name` on `loss`: zero grads, backward (scaled under AMP), step."""
        optimizers: dict = getattr(self, "_optimizers", {})
        if name not in optimizers:
            raise KeyError(f"no optimizer {name!r}; configure_optimizers returned {sorted(optimizers)}")
        step_optimizer(optimizers[name], loss, self._scalers.get(name))


def hparams_from_dict(cls: type, values: dict[str, Any] | None) -> Any:
    """Build a method's HParams dataclass; a misspelled key names the allowed ones."""
    values = dict(values or {})
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {unknown} for {cls.__qualname__}; allowed: {sorted(allowed)}")
    return cls(**values)


def describe_hparams(cls: type) -> list[tuple[str, Any, str]]:
    """(name, default, meaning) for each hyperparameter, meaning taken from the field metadata."""
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)  # type: ignore[misc]
        out.append((f.name, default, f.metadata.get("doc", "")))
    return out

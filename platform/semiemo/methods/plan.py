"""What a method asks of the trainer, as small pieces it returns from `Method.plan(hparams)`.

The trainer runs every piece the same way for every method; it never asks which method it trains:
- `epoch`: what one epoch is — `LabeledPass` (default), `UnlabeledPass` (Laine & Aila: every pool row
  once per epoch), or a `PhasePlan` of named passes over rows a manifest column selects (paper 000).
- `optimizers`: the named optimizers and who steps them — `TrainerStepped` (default: one optimizer
  "model", stepped by the trainer on `losses["loss"]`) or `MethodStepped` (several, stepped by the
  method inside `train_step`, in its own order: GANs).
- `selection_start_epoch` / `warm_start_from_best`: checkpoint selection and patience count from this
  epoch on (0-based; a pre-training or warm-up state is not the method's model); with warm start the
  run continues from the best validation state of those epochs (paper 002's SSBase).
- `pool_predictions`: `on_epoch_end` gets the softmax of `predict` over the whole unlabeled pool.
- `rank_sums`: per-row buffers each DDP rank fills for its own shard, summed over ranks before
  `on_epoch_end`.
- `pretrained`: slot -> plain-data request for weights made by another job (paper 004's front-end).
- `ddp_find_unused_parameters`: some steps leave parameters unused (SAE's phases, avspnet's α = 0/1).
- `uses_unlabeled`: the method trains on the unlabeled pool (`Method.consumes_unlabeled`).
- `rampup_share`: the share of the optimizer-step budget over which the unlabeled weight ramps up;
  the trainer starts selection after it too (`train.budget.selection_start`).
- `thresholded_mask`: the `mask_rate` its steps return is the share of unlabeled rows whose confidence
  passed its threshold (reported as `mask_rate_mean`/`_last`; a coverage share is not one).
Plans are built from the hyperparameters alone, so a driver can read them before any network exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

OptimizerFactory = Callable[[list[nn.Parameter]], torch.optim.Optimizer]


@dataclass(frozen=True)
class LabeledPass:
    """An epoch is one pass over the labeled rows (or the trainer's `steps_per_epoch`)."""


@dataclass(frozen=True)
class UnlabeledPass:
    """An epoch is one pass over the unlabeled pool (without one, or with `steps_per_epoch`: as LabeledPass)."""


@dataclass(frozen=True)
class Phase:
    """One named pass of an epoch over streams the trainer builds from the training rows.

    `labeled_filter` / `labeled_exclude` select labeled training rows by a manifest column
    (e.g. `{"domain": ("acted",)}`); None: no condition. `unlabeled`: each step also draws an
    unlabeled batch, and the phase runs one pass over the unlabeled pool (the labeled rows cycle;
    with no unlabeled pool it runs one labeled pass and passes `None`); otherwise one pass over the
    selected labeled rows. `max_steps` caps the phase's steps. A phase that selects no rows is skipped.
    """

    name: str
    labeled_filter: dict[str, tuple[str, ...]] | None = None
    labeled_exclude: dict[str, tuple[str, ...]] | None = None
    unlabeled: bool = False
    max_steps: int | None = None


@dataclass(frozen=True)
class PhasePlan:
    """The phases of every epoch. `order="sequential"`: phase after phase (a curriculum);
    `"shuffled"`: the same batches, all phases' steps in one seeded random order per epoch.
    A method with a PhasePlan picks its own labeled rows by domain (the fold then keeps every domain)."""

    phases: tuple[Phase, ...]
    order: str = "sequential"

    def __post_init__(self) -> None:
        if self.order not in ("sequential", "shuffled"):
            raise ValueError(f"PhasePlan.order must be 'sequential' or 'shuffled', got {self.order!r}")
        names = [p.name for p in self.phases]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"a PhasePlan needs at least one phase and distinct names, got {names}")


EpochDefinition = LabeledPass | UnlabeledPass | PhasePlan


def step_optimizer(optimizer: torch.optim.Optimizer, loss: torch.Tensor, scaler: Any | None = None,
                   clip: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
    """One update: zero grads, backward (scaled under AMP, then unscaled), optional clip (returns the
    gradient norm), step."""
    optimizer.zero_grad(set_to_none=True)
    grad_norm = None
    if scaler is None:
        loss.backward()
        if clip is not None:
            grad_norm = clip()
        optimizer.step()
        return grad_norm
    scaler.scale(loss).backward()
    if clip is not None:
        scaler.unscale_(optimizer)
        grad_norm = clip()
    scaler.step(optimizer)
    scaler.update()
    return grad_norm


@dataclass(frozen=True)
class TrainerStepped:
    """One optimizer, "model", over `Method.parameters_for_optimizer()`, built by the trainer's factory
    (TrainConfig's optimizer and rate) and stepped by the trainer on `losses["loss"]` after each step."""

    amp_by_default: bool = False

    def build(self, method: Any, train_config: Any, make: OptimizerFactory) -> dict[str, torch.optim.Optimizer]:
        return {"model": make(method.parameters_for_optimizer())}

    def step(self, method: Any, losses: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer],
             scalers: dict[str, Any], grad_clip_norm: float | None) -> None:
        clip = None if grad_clip_norm is None else (
            lambda: torch.nn.utils.clip_grad_norm_(method.parameters_for_optimizer(), grad_clip_norm))
        grad_norm = step_optimizer(optimizers["model"], losses["loss"], scalers.get("model"), clip)
        if grad_norm is not None:
            losses["grad_norm"] = grad_norm


@dataclass(frozen=True)
class MethodStepped:
    """Several optimizers from `Method.configure_optimizers(train_config)`, stepped by the method inside
    `train_step` with `Method.step_optimizer(name, loss)`; the trainer steps nothing. Mixed precision is
    on by default on CUDA (GAN steps are the costly ones)."""

    amp_by_default: bool = True

    def build(self, method: Any, train_config: Any, make: OptimizerFactory) -> dict[str, torch.optim.Optimizer]:
        return method.configure_optimizers(train_config)

    def step(self, method: Any, losses: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer],
             scalers: dict[str, Any], grad_clip_norm: float | None) -> None:
        """Nothing left to do: `train_step` stepped every optimizer."""


@dataclass(frozen=True)
class TrainingPlan:
    epoch: EpochDefinition = LabeledPass()
    optimizers: TrainerStepped | MethodStepped = TrainerStepped()
    selection_start_epoch: int = 0
    warm_start_from_best: bool = False
    pool_predictions: bool = False
    rank_sums: tuple[str, ...] = ()
    pretrained: dict[str, dict[str, Any]] = field(default_factory=dict)
    ddp_find_unused_parameters: bool = False
    uses_unlabeled: bool = False
    rampup_share: float = 0.0        # share of the step budget an unlabeled-weight ramp-up takes (no selection inside it)
    thresholded_mask: bool = False   # the step's `mask_rate` is the share of unlabeled rows past a confidence threshold

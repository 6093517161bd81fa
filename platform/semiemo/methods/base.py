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


@dataclass
class Batch:
    """A minibatch. `inputs` maps feature group -> tensor [B, ...].

    `targets` are class distributions [B, C] (one-hot for hard labels, soft for fuzzy labels from
    votes); `labels` is their argmax [B] (or -1 where unknown). `index` is each row's position in the
    training pool, so methods can keep per-sample state (temporal ensembling). `lengths` holds valid
    lengths of padded sequence groups.
    """

    inputs: dict[str, torch.Tensor]
    index: torch.Tensor
    targets: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    lengths: dict[str, torch.Tensor] = field(default_factory=dict)

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
        )


@dataclass(frozen=True)
class ModelSpec:
    """What the data tells a method about its networks."""

    input_shapes: dict[str, tuple[int, ...]]  # feature group -> per-row shape
    num_classes: int
    hidden: tuple[int, ...] = (256, 128)
    dropout: float = 0.3
    fusion: str = "early"  # early (concatenate inputs) | late (per-modality encoders, concatenate codes)
    backbone: str = "mlp"  # mlp (fusion classifiers) | transformer (paper 003's M_θ, models.transformer_encoder)
    backbone_options: dict[str, Any] = field(default_factory=dict)  # e.g. TransformerOptions fields
    class_names: tuple[str, ...] = ()  # output order, when the data names its classes

    def without_groups(self, *groups: str) -> "ModelSpec":
        """The same spec minus some input groups (a method that reads a group as a side input)."""
        return dataclasses.replace(self, input_shapes={k: v for k, v in self.input_shapes.items() if k not in groups})
    pad_sides: dict[str, str] = field(default_factory=dict)  # sequence group -> "end" | "start" (head padding); missing = "end"
    channel_axes: dict[str, int] = field(default_factory=dict)  # group -> feature axis from the end when not -1 (avsp: -2)


@dataclass
class StepInfo:
    """Where training stands, for ramp-ups and curricula."""

    epoch: int
    step: int            # global optimizer step
    total_steps: int
    num_epochs: int
    phase: str | None = None  # name of the current Phase, for methods that declare phases (else None)


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
    `"shuffled"`: the same batches, all phases' steps in one seeded random order per epoch."""

    phases: tuple[Phase, ...]
    order: str = "sequential"

    def __post_init__(self) -> None:
        if self.order not in ("sequential", "shuffled"):
            raise ValueError(f"PhasePlan.order must be 'sequential' or 'shuffled', got {self.order!r}")
        names = [p.name for p in self.phases]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"a PhasePlan needs at least one phase and distinct names, got {names}")


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
    # True: after each epoch the trainer passes `on_epoch_end` the softmax probabilities [N_u, C] of
    # `predict` on the whole unlabeled pool (row i = unlabeled Batch.index i), in eval mode.
    needs_unlabeled_predictions: ClassVar[bool] = False
    # DDP must look for parameters a step leaves unused (e.g. SAE trains the decoder or the head by phase).
    ddp_find_unused_parameters: ClassVar[bool] = False
    # True: the method owns several optimizers (`configure_optimizers`) and steps them itself, in its
    # own order, inside `train_step` via `step_optimizer(name, loss)` (GANs: D+C, then G). The trainer
    # then does no backward/step of its own; it checkpoints every optimizer (and AMP scaler) by name.
    manual_optimization: ClassVar[bool] = False
    # True: at the end of the epochs before `selection_start_epoch()`, training continues from the
    # best-validation state of those epochs (paper 002's SSBase labels the pool with the best FSBase).
    warm_start_from_best: ClassVar[bool] = False
    # True: without an explicit `train.steps_per_epoch`, an epoch is one pass over the unlabeled pool
    # (Laine & Aila's temporal ensembling: every row is seen once per epoch, whatever the pool size).
    epoch_is_unlabeled_pass: ClassVar[bool] = False
    # Buffers of per-row sums that each DDP rank fills for its own shard; the trainer sums them over
    # ranks before `on_epoch_end`, so every rank's per-row state covers the whole pool.
    rank_summed_buffers: ClassVar[tuple[str, ...]] = ()
    # True: `phases()` returns a PhasePlan and the trainer runs it (steps get `StepInfo.phase`); the
    # fold's labeled training rows then include every domain (the phases pick theirs).
    phased: ClassVar[bool] = False

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

    def phases(self) -> PhasePlan | None:
        """The epoch's phases over named streams (see `Phase`); None: one labeled(+unlabeled) stream."""
        return None

    # --- optional hooks ------------------------------------------------------------------------
    def selection_start_epoch(self) -> int:
        """First epoch (0-based) that best-checkpoint selection and early-stopping patience count.

        Methods with a pre-training or warm-up phase return its length: a state from inside it is
        not the method's model (an SAE before fine-tuning, SSBase before pseudo-labelling)."""
        return 0

    def after_optimizer_step(self, info: StepInfo) -> None:
        """E.g. EMA teacher update."""

    def on_epoch_start(self, info: StepInfo) -> None:
        """E.g. curriculum phase switch."""

    def on_epoch_end(self, info: StepInfo, unlabeled_predictions: torch.Tensor | None = None) -> dict[str, float]:
        """E.g. temporal-ensemble update or pseudo-label refresh. May return diagnostics."""
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

    # --- pretrained weights (e.g. paper 004's front-end) ----------------------------------------
    def pretrained_requests(self) -> dict[str, dict[str, Any]]:
        """Slot -> a plain-data request for weights made elsewhere (the trainer resolves it with
        `semiemo.train.pretrained.resolve` and calls `load_pretrained`); {} for most methods."""
        return type(self).pretrained_requests_for(self.hp) if hasattr(self, "hp") else {}

    @classmethod
    def pretrained_requests_for(cls, hp: Any) -> dict[str, dict[str, Any]]:
        """The same requests from the hyperparameters alone: a sweep's driver makes the weights before
        its trials start, so no trial pre-trains (or featurizes) inside its actor."""
        return {}

    def load_pretrained(self, slot: str, state: dict[str, torch.Tensor]) -> None:
        raise KeyError(f"{type(self).__name__} has no pretrained slot {slot!r}")

    # --- several optimizers (manual_optimization) ----------------------------------------------------
    def configure_optimizers(self, train_config: Any) -> dict[str, torch.optim.Optimizer]:
        """name -> optimizer over this method's (possibly DDP-wrapped) nets; called once by the trainer."""
        raise NotImplementedError(f"{type(self).__name__} sets manual_optimization but has no configure_optimizers")

    def attach_optimizers(self, optimizers: dict[str, torch.optim.Optimizer],
                          scalers: dict[str, Any] | None = None) -> None:
        """The trainer hands over the optimizers (and CUDA AMP GradScalers, one per optimizer)."""
        self._optimizers, self._scalers = optimizers, dict(scalers or {})

    def step_optimizer(self, name: str, loss: torch.Tensor) -> None:
        """One update of optimizer `name` on `loss`: zero grads, backward (scaled under AMP), step."""
        optimizers: dict = getattr(self, "_optimizers", {})
        if name not in optimizers:
            raise KeyError(f"no optimizer {name!r}; configure_optimizers returned {sorted(optimizers)}")
        opt, scaler = optimizers[name], self._scalers.get(name)
        opt.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()


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

"""The one training loop. It runs in-process (sweeps, single-worker trials) and inside a Ray Train
worker (`train.distributed`) unchanged: the caller supplies rank/world size, a wrapper for DDP, a
`report(epoch_metrics, checkpoint_state)` callback and a resume state; the loop itself does no I/O.

Per epoch: `on_epoch_start` -> steps (`train_step` -> the plan's optimizer set steps (the trainer on
`losses["loss"]`, or nothing where the method stepped its own optimizers) -> `after_optimizer_step`)
-> warm start (plans that ask) -> rank sums, pool predictions, `on_epoch_end` -> validation ->
`TrainState.select` (best checkpoint by `checkpoint_metric`, patience, early stop) -> report. Then the
best state is restored and evaluated on test. What differs between methods comes from their
`TrainingPlan` (`semiemo.methods.plan`); the loop tests none of it.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from semiemo.methods.base import Batch, Method, StepInfo, hparams_from_dict
from semiemo.methods.plan import TrainingPlan
from semiemo.methods.registry import get_method
from semiemo.models.spec import ModelSpec
from semiemo.train.budget import selection_start
from semiemo.train.config import TrainConfig
from semiemo.train.epochs import make_streams
from semiemo.train.metrics import classification_metrics, fuzzy_classification_metrics, pseudo_label_accuracy
from semiemo.train.pool_stream import StreamedPool
from semiemo.train.run_columns import run_columns
from semiemo.train.schedules import make_optimizer, make_scheduler
from semiemo.train.state import TrainState
from semiemo.train.streams import PoolRows, Split, TensorPool, TwoStreams, diagnostic_rows
from semiemo.train.view_bank import TensorViewBank, step_generator, with_stored_views

ReportFn = Callable[[dict[str, float], dict[str, Any]], None]
EVAL_BATCH = 2048


@dataclass
class FoldData:
    """One fold, normalized, as numpy (picklable; put once in the object store for DDP workers).

    `unlabeled_oracle` holds the hidden truth of unlabeled rows (-1 unknown); training never reads
    it, only the pseudo-label-accuracy diagnostic does. `fuzzy_eval`: validation/test targets are
    vote distributions, scored with paper 002's tie rule.
    """

    train: Split
    val: Split
    test: Split | None
    unlabeled: Split | None = None
    unlabeled_oracle: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    fuzzy_eval: bool = False
    # manifest columns of the training rows (e.g. `domain`), for methods whose phases select rows by them
    train_columns: dict[str, np.ndarray] = field(default_factory=dict)
    unlabeled_view: Any = None        # PoolView: the pool streamed from the feature store (then `unlabeled` is None)
    pad_sides: dict[str, str] = field(default_factory=dict)    # how to read sequence groups (FeatureSet's)
    channel_axes: dict[str, int] = field(default_factory=dict)
    view_banks: dict[str, dict[str, Any]] = field(default_factory=dict)  # "train" | "unlabeled" -> policy -> ViewBank
                                      # (train.view_bank): stored audio views, row-aligned with that split

    @property
    def num_classes(self) -> int:
        return int(self.train.targets.shape[1])  # type: ignore[union-attr]

    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: tuple(v.shape[1:]) for k, v in self.train.inputs.items()}


@dataclass
class FoldResult:
    test_metrics: dict[str, Any]          # classification_metrics of the best state on test ({} without test)
    best_val_metrics: dict[str, Any]
    best_epoch: int                       # 1-based; 0 when no epoch ran
    epochs_run: int                       # epochs completed in total (including before a resume)
    history: list[dict[str, float]]       # the scalars reported each epoch
    wall_time_s: float                    # training time of this process (validation excluded)
    samples_per_s: float                  # labeled+unlabeled rows per second, all workers together
    resumed_from_epoch: int = 0
    stopped_early: bool = False
    pseudo_label_accuracy: float = float("nan")  # last epoch, against oracle_label where present
    unlabeled_pool_size: int = 0          # rows in the unlabeled pool the method was given
    unlabeled_rows_drawn: int = 0         # distinct pool rows drawn at least once (all workers)
    unlabeled_draws: int = 0              # unlabeled row draws in total (all workers)
    selection_start_epoch: int = 0        # first epoch (1-based: +1) that checkpoint selection counted
    steps_run: int = 0                    # optimizer steps in total (including before a resume): wall_time_s / steps_run is the per-step cost
    steady_step_s: float = float("nan")   # seconds per step after this process's first epoch (CUDA context, cuDNN
                                          # autotuning and allocator growth excluded); nan with one epoch
    steps_per_epoch: int = 0              # optimizer steps an epoch has (the budget rule, train.budget)
    total_steps: int = 0                  # epochs × steps_per_epoch: the run's optimizer-step budget
    run_columns: dict[str, Any] = field(default_factory=dict)  # train.run_columns.COLUMNS
    method: Any = field(default=None, repr=False)  # the trained method (best state), with `return_method=True`


def model_spec(data: FoldData, hidden: tuple[int, ...] = (256, 128), dropout: float = 0.3, fusion: str = "early",
               backbone: str = "mlp", backbone_options: dict | None = None,
               pad_sides: dict[str, str] | None = None) -> ModelSpec:
    """`pad_sides` overrides the fold's own (FoldData.pad_sides) group by group."""
    return ModelSpec(input_shapes=data.input_shapes(), num_classes=data.num_classes, hidden=tuple(hidden),
                     dropout=dropout, fusion=fusion, backbone=backbone, backbone_options=dict(backbone_options or {}),
                     pad_sides={**data.pad_sides, **(pad_sides or {})}, channel_axes=dict(data.channel_axes),
                     class_names=tuple(data.class_names))


def trained_method_class(name: str) -> type[Method]:
    cls = get_method(name)
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise ValueError(f"method {name!r} is not gradient-trained; run it through semiemo.train.experiment.run_fold")
    return cls


def build_method(name: str, params: dict | None, spec: ModelSpec, num_unlabeled: int) -> Method:
    cls = trained_method_class(name)
    return cls(spec, hparams_from_dict(cls.HParams, params), num_unlabeled=num_unlabeled)


def method_state(method: Method) -> dict[str, torch.Tensor]:
    """state_dict with DDP's `.module.` removed, so checkpoints load with or without DDP."""
    state = method.state_dict()
    wrapped = [n for n in method.trainable if isinstance(getattr(method, n), nn.parallel.DistributedDataParallel)]
    if not wrapped:
        return state
    out = {}
    for key, value in state.items():
        for n in wrapped:
            if key.startswith(f"{n}.module."):
                key = f"{n}." + key[len(n) + len(".module."):]
                break
        out[key] = value
    return out


def unwrap_trainable(method: Method) -> None:
    for n in method.trainable:
        sub = getattr(method, n)
        if isinstance(sub, nn.parallel.DistributedDataParallel):
            setattr(method, n, sub.module)


@torch.no_grad()
def predict_proba(method: Method, pool: TensorPool | StreamedPool) -> torch.Tensor:
    """Softmax of `predict` over every row of the pool, in eval mode; [n, C] on the pool's device."""
    was_training = method.training
    method.eval()
    parts = [torch.softmax(method.predict(b.inputs, b.lengths), dim=1) for b in pool.in_order(EVAL_BATCH)]
    method.train(was_training)
    return torch.cat(parts) if parts else torch.empty(0)


def score(pred: np.ndarray, targets: np.ndarray, data: FoldData) -> dict[str, Any]:
    if data.fuzzy_eval:
        return fuzzy_classification_metrics(pred, targets, data.num_classes, data.class_names or None)
    return classification_metrics(targets.argmax(axis=1), pred, data.num_classes, data.class_names or None)


def evaluate(method: Method, pool: TensorPool, split: Split, data: FoldData) -> dict[str, Any]:
    pred = predict_proba(method, pool).argmax(dim=1).cpu().numpy()
    return score(pred, split.targets, data)  # type: ignore[arg-type]


def _mean(values: list) -> float:
    if values and isinstance(values[0], torch.Tensor):
        return float(torch.stack([v.float().reshape(()) for v in values]).mean())
    return float(np.mean([float(v) for v in values]))


def rank_seed(seed: int, rank: int) -> int:
    """A distinct, reproducible torch seed per DDP rank (noise, dropout and MixUp draws differ by rank)."""
    return int(np.random.SeedSequence([seed, rank]).generate_state(1)[0])


def _sum_over_ranks(tensors: list[torch.Tensor], world_size: int) -> None:
    """In-place sum over DDP ranks (no-op on one worker)."""
    if world_size <= 1 or not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return
    for t in tensors:
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.SUM)


def _visit_summary(streams: TwoStreams, device: torch.device, world_size: int) -> tuple[int, int]:
    """(distinct unlabeled rows drawn, total draws), summed over ranks."""
    visits = streams.unlabeled_visits()
    if visits is None:
        return 0, 0
    counts = torch.as_tensor(visits, dtype=torch.int64, device=device).clone()
    _sum_over_ranks([counts], world_size)
    return int((counts > 0).sum()), int(counts.sum())


def default_device(use_gpu: bool | None) -> torch.device:
    if use_gpu is False or not torch.cuda.is_available():
        if use_gpu:
            raise RuntimeError("use_gpu=True but torch sees no CUDA device")
        return torch.device("cpu")
    return torch.device("cuda")


def fit_fold(
    data: FoldData,
    method_name: str,
    method_params: dict | None,
    train: TrainConfig,
    spec: ModelSpec | None = None,
    *,
    seed: int = 0,
    report: ReportFn | None = None,
    logger: Any | None = None,
    resume_state: dict[str, Any] | None = None,
    rank: int = 0,
    world_size: int = 1,
    device: torch.device | None = None,
    wrap_trainable: Callable[[nn.Module], nn.Module] | None = None,
    pretrained: Mapping[str, dict[str, torch.Tensor]] | None = None,
    return_method: bool = False,
) -> FoldResult:
    """Train one method on one fold; evaluate its best validation state on test.

    `report(epoch_metrics, checkpoint_state)` is called after every epoch on every rank; the state
    holds live tensors, so a reporter must serialize it before returning. `logger` (rank 0 only) gets
    `log_epoch(epoch, scalars, confusion, class_names)` (confusion only on improving epochs).
    `wrap_trainable` wraps each of `Method.trainable` (Ray's `prepare_model` for DDP).
    `resume_state` is a checkpoint_state from an earlier report: training continues after its epoch.
    `pretrained`: slot -> weights for the plan's `pretrained` requests, resolved by the caller
    (`semiemo.recipes.pretrained.resolve_requests`). `return_method`: the result carries the trained method.
    Reported scalars: `epoch`, `train/<every key train_step and on_epoch_end return>`,
    `train/pseudo_label_accuracy` (oracle present), `val/<metric>`, `val/best_epoch`.
    """
    device = device or default_device(train.use_gpu)
    if train.num_threads:
        torch.set_num_threads(train.num_threads)
    torch.manual_seed(seed)  # the same initial weights on every rank
    run = _Run.build(data, method_name, method_params, train, spec or model_spec(data), device, seed, rank,
                     world_size, wrap_trainable, pretrained, resume_state)
    method, plan, streams, state = run.method, run.plan, run.streams, run.state
    start_epoch, total_steps = state.epoch, train.epochs * streams.steps_per_epoch
    plabel_acc = float("nan")

    while state.epoch < train.epochs and not state.stopped_early:
        epoch = state.epoch
        method.train()
        method.on_epoch_start(StepInfo(epoch=epoch, step=state.step, total_steps=total_steps, num_epochs=train.epochs))
        logged: dict[str, list] = {}  # per-step losses, detached; averaged once per epoch (no per-step sync)
        n_steps, t0 = 0, time.perf_counter()
        for phase, labeled_batch, unlabeled_batch in streams.steps():
            if run.view_banks:  # one stored view per row per policy, drawn from (seed, rank, step)
                labeled_batch, unlabeled_batch = run.attach_views(labeled_batch, unlabeled_batch, state.step)
            info = StepInfo(epoch=epoch, step=state.step, total_steps=total_steps, num_epochs=train.epochs, phase=phase)
            with torch.autocast(device.type) if run.amp else contextlib.nullcontext():
                losses = method.train_step(labeled_batch, unlabeled_batch, info)
            plan.optimizers.step(method, losses, run.optimizers, run.scalers, train.grad_clip_norm)
            losses.update(_lr_scalars(run.schedulers, run.optimizers))
            state.step += 1
            info.step = state.step
            method.after_optimizer_step(info)
            for k, v in losses.items():
                logged.setdefault(k, []).append(v.detach() if isinstance(v, torch.Tensor) and v.requires_grad else v)
            n_steps += 1
            state.samples += len(labeled_batch) + (len(unlabeled_batch) if unlabeled_batch is not None else 0)
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # kernels still queued belong to this epoch's time
        state.epoch_costs.append((time.perf_counter() - t0, n_steps))
        state.train_time += state.epoch_costs[-1][0]
        for scheduler in run.schedulers.values():
            scheduler.step()  # per epoch (paper 003); `train/lr` is the rate this epoch's steps used

        scalars: dict[str, float] = {"epoch": float(epoch + 1), **{f"train/{k}": _mean(v) for k, v in logged.items()}}
        val_metrics = run.warm_start(epoch, scalars)
        end = run.epoch_end(StepInfo(epoch=epoch, step=state.step, total_steps=total_steps, num_epochs=train.epochs))
        scalars.update(end)
        plabel_acc = end.get("train/pseudo_label_accuracy", plabel_acc)
        if val_metrics is None:
            val_metrics = evaluate(method, run.val_pool, data.val, data) if run.val_pool is not None else {}
        scalars.update({f"val/{k}": float(v) for k, v in val_metrics.items() if isinstance(v, (int, float))})
        state.epoch += 1
        improved = state.select(_checkpoint_score(val_metrics, train.checkpoint_metric, state.epoch), val_metrics,
                                lambda: _detached(method_state(method)), run.selection_start, train.patience,
                                train.epochs)
        scalars["val/best_epoch"] = float(state.best["epoch"])
        state.history.append(scalars)
        if logger is not None and rank == 0:
            # The confusion image is drawn when validation improves (the state test will use): a
            # figure per epoch would cost more than a small model's epoch.
            logger.log_epoch(state.epoch, scalars, val_metrics.get("confusion") if improved else None, data.class_names)
        if report is not None:
            report(scalars, run.checkpoint())

    drawn, draws = _visit_summary(streams, device, world_size)
    unwrap_trainable(method)
    if state.best["method"] is not None:
        method.load_state_dict(state.best["method"])
    test_metrics = {}
    if data.test is not None and len(data.test):
        test_metrics = evaluate(method, TensorPool(data.test, device), data.test, data)
    if plabel_acc != plabel_acc and state.history:  # resumed after the last epoch: take the recorded value
        plabel_acc = state.history[-1].get("train/pseudo_label_accuracy", float("nan"))
    return FoldResult(
        test_metrics=test_metrics, best_val_metrics=state.best["val_metrics"], best_epoch=int(state.best["epoch"]),
        epochs_run=state.epoch, history=state.history, wall_time_s=state.train_time,
        samples_per_s=state.samples * world_size / state.train_time if state.train_time > 0 else float("nan"),
        resumed_from_epoch=start_epoch, stopped_early=state.stopped_early, pseudo_label_accuracy=plabel_acc,
        unlabeled_pool_size=run.num_unlabeled, unlabeled_rows_drawn=drawn, unlabeled_draws=draws,
        selection_start_epoch=run.selection_start, steps_run=state.step, steady_step_s=state.steady_step_s(),
        steps_per_epoch=streams.steps_per_epoch, total_steps=total_steps,
        run_columns=run_columns(state.history, int(state.best["epoch"]), run.selection_start, total_steps,
                                streams.steps_per_epoch, plan.thresholded_mask),
        method=method if return_method else None,
    )


@dataclass
class _Run:
    """Everything one fit builds before its first epoch, and what it checkpoints."""

    data: FoldData
    train: TrainConfig
    method: Method
    plan: TrainingPlan
    optimizers: dict[str, torch.optim.Optimizer]
    scalers: dict[str, Any]
    schedulers: dict[str, Any]
    streams: Any
    state: TrainState
    amp: bool
    num_unlabeled: int
    unlabeled_pool: TensorPool | StreamedPool | None
    val_pool: TensorPool | None
    oracle: np.ndarray | None
    world_size: int
    selection_start: int          # epochs before selection (train.budget.selection_start: warm-up and ramp-up)
    seed: int = 0
    rank: int = 0
    view_banks: dict[str, dict[str, TensorViewBank]] = field(default_factory=dict)  # split -> policy -> bank

    @classmethod
    def build(cls, data: FoldData, method_name: str, method_params: dict | None, train: TrainConfig, spec: ModelSpec,
              device: torch.device, seed: int, rank: int, world_size: int,
              wrap_trainable: Callable[[nn.Module], nn.Module] | None,
              pretrained: Mapping[str, dict[str, torch.Tensor]] | None, resume_state: dict[str, Any] | None) -> "_Run":
        method_cls = trained_method_class(method_name)
        plan = method_cls.plan(hparams_from_dict(method_cls.HParams, method_params))
        source = data.unlabeled_view if data.unlabeled_view is not None else data.unlabeled
        num_unlabeled = len(source) if plan.uses_unlabeled and source is not None else 0  # type: ignore[arg-type]
        method = build_method(method_name, method_params, spec, num_unlabeled)
        _load_pretrained(method, plan, pretrained or {})  # weights made by another job, before resume and DDP
        method = method.to(device)
        if resume_state is not None:
            method.load_state_dict(resume_state["method"])
        for n in method.trainable if wrap_trainable is not None else ():
            setattr(method, n, wrap_trainable(getattr(method, n)))  # type: ignore[misc]
        # Named optimizers, each with its own GradScaler under CUDA AMP and its own state in the checkpoint.
        amp = device.type == "cuda" and (train.amp if train.amp is not None else plan.optimizers.amp_by_default)
        optimizers = plan.optimizers.build(method, train, lambda params: make_optimizer(params, train))
        scalers = {n: torch.amp.GradScaler("cuda") for n in optimizers} if amp else {}
        method.attach_optimizers(optimizers, scalers)
        schedulers = {n: s for n, s in ((n, make_scheduler(o, train)) for n, o in optimizers.items()) if s is not None}
        if rank > 0:  # rank 0 keeps the single-worker stream, so 1-worker results do not change
            torch.manual_seed(rank_seed(seed, rank))
        unlabeled_pool: TensorPool | StreamedPool | None = None
        if num_unlabeled:
            unlabeled_pool = (StreamedPool(data.unlabeled_view, device) if data.unlabeled_view is not None
                              else TensorPool(data.unlabeled, device))  # type: ignore[arg-type]
        streams = make_streams(plan.epoch, TensorPool(data.train, device), data.train_columns, unlabeled_pool, train,
                               seed, rank, world_size)
        start = selection_start(plan, train.epochs)
        if start >= train.epochs:
            raise ValueError(f"{method_name}: checkpoint selection starts at epoch {start + 1} "
                             f"(after its pre-training/warm-up) but train.epochs is {train.epochs}; raise train.epochs "
                             f"or shorten that phase (method_params.pretrain_epochs / warmup_epochs)")
        oracle = None
        if num_unlabeled and data.unlabeled_oracle is not None and (np.asarray(data.unlabeled_oracle) >= 0).any():
            oracle = np.asarray(data.unlabeled_oracle)
        banks = {split: {p: TensorViewBank(b, device) for p, b in by_policy.items()}
                 for split, by_policy in data.view_banks.items()
                 if split == "train" or (split == "unlabeled" and num_unlabeled and data.unlabeled_view is None)}
        _check_view_counts(method_name, method, banks)
        run = cls(data, train, method, plan, optimizers, scalers, schedulers, streams, TrainState(), amp, num_unlabeled,
                  unlabeled_pool, TensorPool(data.val, device) if len(data.val) else None, oracle, world_size, start,
                  seed, rank, {split: b for split, b in banks.items() if b})
        if resume_state is not None:
            run.restore(resume_state)
        return run

    def attach_views(self, labeled: Batch, unlabeled: Batch | None, step: int) -> tuple[Batch, Batch | None]:
        """Both batches with their stored views drawn for this step (`train.view_bank`)."""
        labeled = with_stored_views(labeled, self.view_banks.get("train", {}),
                                    step_generator(self.seed, self.rank, step, 0))
        if unlabeled is not None:
            unlabeled = with_stored_views(unlabeled, self.view_banks.get("unlabeled", {}),
                                          step_generator(self.seed, self.rank, step, 1))
        return labeled, unlabeled

    def checkpoint(self) -> dict[str, Any]:
        return {**self.state.state_dict(), "method": method_state(self.method), "streams": self.streams.state_dict(),
                "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
                "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                "scalers": {n: s.state_dict() for n, s in self.scalers.items()}, "torch_rng": torch.get_rng_state()}

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Everything but the weights (loaded before DDP wrapping) from a `checkpoint()`."""
        for kind, objects in (("optimizers", self.optimizers), ("schedulers", self.schedulers),
                              ("scalers", self.scalers)):
            for n, obj in objects.items():
                if n in checkpoint[kind]:
                    obj.load_state_dict(checkpoint[kind][n])
        self.streams.load_state_dict(checkpoint["streams"])
        self.state.load_state_dict(checkpoint)
        torch.set_rng_state(checkpoint["torch_rng"])

    def warm_start(self, epoch: int, scalars: dict[str, float]) -> dict[str, Any] | None:
        """Plans with `warm_start_from_best`: before selection starts, validate and keep the best state; at
        the last such epoch continue from it. Returns the validation metrics it computed (else None)."""
        if not (self.plan.warm_start_from_best and epoch < self.selection_start and self.val_pool is not None):
            return None
        val_metrics = evaluate(self.method, self.val_pool, self.data.val, self.data)
        score_now = val_metrics[self.train.checkpoint_metric]
        if score_now > self.state.warmup_best["score"]:
            self.state.warmup_best = {"epoch": epoch + 1, "score": float(score_now),
                                      "method": _detached(method_state(self.method))}
        if epoch == self.selection_start - 1 and self.state.warmup_best["method"] is not None:
            _load_into(self.method, self.state.warmup_best["method"])  # continue from the best warm-up state
            scalars["train/warm_start_epoch"] = float(self.state.warmup_best["epoch"])
        return val_metrics

    def epoch_end(self, info: StepInfo) -> dict[str, float]:
        """Rank sums of the plan's buffers, the pool's predictions (when the plan or the oracle diagnostic
        wants them), `on_epoch_end`, the pseudo-label diagnostics. Returns the scalars to log."""
        _sum_over_ranks([getattr(self.method, b) for b in self.plan.rank_sums], self.world_size)
        proba = None
        if self.unlabeled_pool is not None and self.plan.pool_predictions:
            proba = predict_proba(self.method, self.unlabeled_pool)
        extra = self.method.on_epoch_end(info, proba) or {}
        out = {f"train/{k}": float(v) for k, v in extra.items()}
        if self.oracle is not None and self.unlabeled_pool is not None:
            pool, oracle = self.unlabeled_pool, self.oracle
            rows = None if proba is not None else diagnostic_rows(len(pool), self.train.pool_diagnostic_rows, self.seed)
            if rows is not None:  # a fixed sample of a large pool (train.pool_diagnostic_rows)
                pool, oracle = PoolRows(pool, rows), oracle[rows]
            if proba is None:
                proba = predict_proba(self.method, pool)
            out["train/pseudo_label_accuracy"] = pseudo_label_accuracy(proba.argmax(dim=1).cpu().numpy(), oracle)
            out.update(pseudo_label_scalars(pool_pseudo_labels(self.method, pool, proba), oracle, self.data.num_classes))
        return out


def _check_view_counts(method_name: str, method: Method, banks: dict[str, dict[str, TensorViewBank]]) -> None:
    """Refuse stored views too few for the method's comparisons (`Method.stored_view_draws`): with K = 1 the
    two views a Π-model or mean teacher compares are one input, and the unlabeled term trains nothing."""
    for policy, draws in method.stored_view_draws().items():
        for split, by_policy in banks.items():
            bank = by_policy.get(policy)
            if bank is not None and bank.n_views < draws:
                raise ValueError(
                    f"{method_name} compares {draws} distinct {policy!r} views of each row, but the stored {policy!r} "
                    f"views of the {split} rows have K={bank.n_views}: its draws would be the same input; featurize "
                    f"more (semiemo featurize ... --views {max(draws, 4)} --augment {policy}) and pass "
                    f"--views {policy}:{max(draws, 4)}, or drop --views for feature-space noise")


def _load_pretrained(method: Method, plan: TrainingPlan, pretrained: Mapping[str, dict[str, torch.Tensor]]) -> None:
    missing = sorted(set(plan.pretrained) - set(pretrained))
    if missing:
        raise ValueError(f"{method.name} asks for pretrained weights in slot(s) {missing} ({[plan.pretrained[s] for s in missing]}); "
                         f"resolve them first: semiemo.recipes.pretrained.resolve_requests(plan.pretrained, seed) "
                         f"and pass fit_fold(..., pretrained=...)")
    for slot in plan.pretrained:
        method.load_pretrained(slot, pretrained[slot])


def _lr_scalars(schedulers: dict[str, Any], optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
    """`lr` (the "model" optimizer) or `lr/<name>`: the rate of each scheduled optimizer this step."""
    return {("lr" if n == "model" else f"lr/{n}"): torch.tensor(optimizers[n].param_groups[0]["lr"]) for n in schedulers}


def _checkpoint_score(val_metrics: dict[str, Any], metric: str, epoch: int) -> float:
    """The validation metric selection maximises; without validation rows, the epoch (the last wins)."""
    if not val_metrics:
        return float(epoch)
    if metric not in val_metrics:
        raise ValueError(f"checkpoint_metric {metric!r} is not a validation metric; "
                         f"choose one of {sorted(k for k, v in val_metrics.items() if isinstance(v, (int, float)))}")
    return val_metrics[metric]


def _detached(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in state.items()}


@torch.no_grad()
def pool_pseudo_labels(method: Method, pool: Any, proba: torch.Tensor) -> dict[str, torch.Tensor]:
    """`Method.pseudo_label_diagnostics` over the whole pool, chunk by chunk, concatenated per name."""
    parts: dict[str, list[torch.Tensor]] = {}
    start = 0
    for chunk in pool.in_order(EVAL_BATCH):
        for name, labels in method.pseudo_label_diagnostics(proba[start:start + len(chunk)], chunk).items():
            parts.setdefault(name, []).append(labels)
        start += len(chunk)
    return {name: torch.cat(v) for name, v in parts.items()}


def pseudo_label_scalars(named: dict[str, torch.Tensor], oracle: np.ndarray, num_classes: int) -> dict[str, float]:
    """Per named pseudo-label set: oracle accuracy on its labeled rows, coverage, class shares."""
    out: dict[str, float] = {}
    for name, labels in named.items():
        lab = labels.detach().cpu().numpy().astype(np.int64)
        has = lab >= 0
        out[f"train/oracle_accuracy/{name}"] = pseudo_label_accuracy(lab, oracle, has) if has.any() else float("nan")
        out[f"train/coverage/{name}"] = float(has.mean()) if len(has) else float("nan")
        counts = np.bincount(lab[has], minlength=num_classes)[:num_classes]
        for c in range(num_classes):
            out[f"train/pseudo_label_hist/{name}/{c}"] = float(counts[c] / max(has.sum(), 1))
    return out


def _load_into(method: Method, state: dict[str, torch.Tensor]) -> None:
    """Load an unwrapped state into a method whose trainable nets may be DDP-wrapped."""
    wrapped = {n for n in method.trainable if isinstance(getattr(method, n), nn.parallel.DistributedDataParallel)}
    renamed = {}
    for key, value in state.items():
        head = key.split(".", 1)[0]
        renamed[f"{head}.module.{key.split('.', 1)[1]}" if head in wrapped else key] = value
    method.load_state_dict(renamed)


def copy_state(state: dict[str, Any]) -> dict[str, Any]:
    """A detached deep copy of a checkpoint_state (reporters that keep it in memory)."""
    return copy.deepcopy(state)

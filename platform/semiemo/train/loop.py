"""The one training loop. It runs in-process (sweeps, single-worker trials) and inside a Ray Train
worker (`train.distributed`) unchanged: the caller supplies rank/world size, a wrapper for DDP, a
`report(epoch_metrics, checkpoint_state)` callback and a resume state; the loop itself does no I/O.

Per epoch: `on_epoch_start` -> steps (`train_step` -> backward on `losses["loss"]` -> optimizer step
-> `after_optimizer_step`; a `manual_optimization` method steps its own named optimizers inside
`train_step`, in its own order) -> predictions on the unlabeled pool when the method asks for them (or an
oracle exists, for the pseudo-label-accuracy diagnostic) -> `on_epoch_end` -> validation metrics ->
best checkpoint by `checkpoint_metric` (mode max) -> report -> early stop. Then the best state is
restored and evaluated on test.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from semiemo.methods.base import Method, ModelSpec, StepInfo, hparams_from_dict
from semiemo.methods.registry import get_method
from semiemo.train.config import TrainConfig
from semiemo.train.schedules import make_optimizer, make_scheduler
from semiemo.train.metrics import classification_metrics, fuzzy_classification_metrics, pseudo_label_accuracy
from semiemo.train.phases import PhasedStreams
from semiemo.train.pool_stream import StreamedPool
from semiemo.train.streams import Split, TensorPool, TwoStreams

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
    method: Any = field(default=None, repr=False)  # the trained method (best state), with `return_method=True`


def model_spec(data: FoldData, hidden: tuple[int, ...] = (256, 128), dropout: float = 0.3, fusion: str = "early",
               backbone: str = "mlp", backbone_options: dict | None = None,
               pad_sides: dict[str, str] | None = None) -> ModelSpec:
    """`pad_sides` overrides the fold's own (FoldData.pad_sides) group by group."""
    return ModelSpec(input_shapes=data.input_shapes(), num_classes=data.num_classes, hidden=tuple(hidden),
                     dropout=dropout, fusion=fusion, backbone=backbone, backbone_options=dict(backbone_options or {}),
                     pad_sides={**data.pad_sides, **(pad_sides or {})}, channel_axes=dict(data.channel_axes),
                     class_names=tuple(data.class_names))


def build_method(name: str, params: dict | None, spec: ModelSpec, num_unlabeled: int) -> Method:
    cls = get_method(name)
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise ValueError(f"method {name!r} is not gradient-trained; run it through semiemo.train.experiment.run_fold")
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
    return_method: bool = False,
) -> FoldResult:
    """Train one method on one fold; evaluate its best validation state on test.

    `report(epoch_metrics, checkpoint_state)` is called after every epoch on every rank; the state
    holds live tensors, so a reporter must serialize it before returning. `logger` (rank 0 only) gets
    `log_epoch(epoch, scalars, confusion, class_names)` (confusion only on improving epochs).
    `wrap_trainable` wraps each of `Method.trainable` (Ray's `prepare_model` for DDP).
    `resume_state` is a checkpoint_state from an earlier report: training continues after its epoch.
    `return_method`: the result carries the trained method (e.g. paper 001's vanilla pool balancer).
    Reported scalars: `epoch`, `train/<every key train_step and on_epoch_end return>`,
    `train/pseudo_label_accuracy` (oracle present), `val/<metric>`, `val/best_epoch`.
    """
    device = device or default_device(train.use_gpu)
    if train.num_threads:
        torch.set_num_threads(train.num_threads)
    torch.manual_seed(seed)  # the same initial weights on every rank
    spec = spec or model_spec(data)
    cls = get_method(method_name)
    source = data.unlabeled_view if data.unlabeled_view is not None else data.unlabeled
    use_unlabeled = bool(getattr(cls, "consumes_unlabeled", False)) and source is not None and len(source) > 0
    num_unlabeled = len(source) if use_unlabeled else 0  # type: ignore[arg-type]
    method = build_method(method_name, method_params, spec, num_unlabeled)
    requests = method.pretrained_requests()
    if requests:  # weights made by another job (paper 004's front-end), before resume and DDP wrapping
        from semiemo.train.pretrained import resolve

        for slot, request in requests.items():
            method.load_pretrained(slot, resolve(request, seed=seed))
    method = method.to(device)
    if resume_state is not None:
        method.load_state_dict(resume_state["method"])
    if wrap_trainable is not None:
        for n in method.trainable:
            setattr(method, n, wrap_trainable(getattr(method, n)))
    # One optimizer stepped here, or (manual_optimization) several the method steps itself; each gets
    # its own GradScaler under CUDA AMP and its own state in the checkpoint.
    manual = bool(getattr(cls, "manual_optimization", False))
    amp = device.type == "cuda" and (train.amp if train.amp is not None else manual)
    optimizers = method.configure_optimizers(train) if manual else {"model": make_optimizer(method.parameters_for_optimizer(), train)}
    optimizer = optimizers.get("model")
    scalers = {n: torch.amp.GradScaler("cuda") for n in optimizers} if amp else {}
    if manual:
        method.attach_optimizers(optimizers, scalers)
    scheduler = make_scheduler(optimizer, train) if optimizer is not None else None
    if rank > 0:  # rank 0 keeps the single-worker stream, so 1-worker results do not change
        torch.manual_seed(rank_seed(seed, rank))

    labeled_pool = TensorPool(data.train, device)
    unlabeled_pool: TensorPool | StreamedPool | None = None
    if use_unlabeled:
        unlabeled_pool = (StreamedPool(data.unlabeled_view, device) if data.unlabeled_view is not None
                          else TensorPool(data.unlabeled, device))  # type: ignore[arg-type]
    val_pool = TensorPool(data.val, device) if len(data.val) else None
    plan = method.phases() if cls.phased else None
    if plan is not None:  # named phases (train.phases); `steps_per_epoch` does not apply
        streams: TwoStreams | PhasedStreams = PhasedStreams(plan, labeled_pool, data.train_columns, unlabeled_pool,
                                                            train.batch_size, train.mu, seed, rank, world_size)
    else:
        streams = TwoStreams(labeled_pool, unlabeled_pool, train.batch_size, train.mu, seed, rank, world_size,
                             train.steps_per_epoch)
        if cls.epoch_is_unlabeled_pass and unlabeled_pool is not None and not train.steps_per_epoch:
            streams.set_steps_per_epoch(streams.unlabeled_pass_steps())
    selection_start = method.selection_start_epoch()
    if selection_start >= train.epochs:
        raise ValueError(f"{method_name}: checkpoint selection starts at epoch {selection_start + 1} (after its "
                         f"pre-training/warm-up) but train.epochs is {train.epochs}; raise train.epochs or shorten that "
                         f"phase (method_params.pretrain_epochs / warmup_epochs)")
    oracle = None
    if use_unlabeled and data.unlabeled_oracle is not None and (np.asarray(data.unlabeled_oracle) >= 0).any():
        oracle = np.asarray(data.unlabeled_oracle)

    start_epoch, step, samples, train_time = 0, 0, 0, 0.0
    epoch_costs: list[tuple[float, int]] = []  # (training seconds, steps) of each epoch this process ran
    best: dict[str, Any] = {"epoch": 0, "score": -math.inf, "method": None, "val_metrics": {}}
    warmup_best: dict[str, Any] = {"epoch": 0, "score": -math.inf, "method": None}  # before selection starts
    history: list[dict[str, float]] = []
    bad_epochs = 0
    if resume_state is not None:
        if manual:
            for n, opt in optimizers.items():
                opt.load_state_dict(resume_state["optimizers"][n])
        else:
            optimizer.load_state_dict(resume_state["optimizer"])
        if scheduler is not None and resume_state.get("scheduler") is not None:
            scheduler.load_state_dict(resume_state["scheduler"])
        for n, scaler in scalers.items():
            if n in resume_state.get("scalers", {}):
                scaler.load_state_dict(resume_state["scalers"][n])
        streams.load_state_dict(resume_state["streams"])
        start_epoch, step = int(resume_state["epoch"]), int(resume_state["step"])
        samples, train_time = int(resume_state.get("samples", 0)), float(resume_state.get("train_time", 0.0))
        best, history = resume_state["best"], list(resume_state["history"])
        warmup_best = resume_state.get("warmup_best", warmup_best)
        bad_epochs = int(resume_state.get("bad_epochs", 0))
        torch.set_rng_state(resume_state["torch_rng"])
    total_steps = train.epochs * streams.steps_per_epoch
    stopped_early = bool(resume_state.get("stopped_early", False)) if resume_state else False
    plabel_acc = float("nan")

    epoch = start_epoch
    while epoch < train.epochs and not stopped_early:
        info = StepInfo(epoch=epoch, step=step, total_steps=total_steps, num_epochs=train.epochs)
        method.train()
        method.on_epoch_start(info)
        logged: dict[str, list] = {}  # per-step losses, detached; averaged once per epoch (no per-step sync)
        n_steps = 0
        t0 = time.perf_counter()
        steps = streams.epoch() if plan is not None else ((None, lb, ub) for lb, ub in streams.epoch())
        for phase, labeled_batch, unlabeled_batch in steps:
            info = StepInfo(epoch=epoch, step=step, total_steps=total_steps, num_epochs=train.epochs, phase=phase)
            with torch.autocast(device.type) if amp else contextlib.nullcontext():
                losses = method.train_step(labeled_batch, unlabeled_batch, info)
            if not manual:
                optimizer.zero_grad(set_to_none=True)
                if amp:
                    scalers["model"].scale(losses["loss"]).backward()
                    scalers["model"].unscale_(optimizer)
                else:
                    losses["loss"].backward()
                if train.grad_clip_norm is not None:
                    losses["grad_norm"] = torch.nn.utils.clip_grad_norm_(method.parameters_for_optimizer(), train.grad_clip_norm)
                if scheduler is not None:
                    losses["lr"] = torch.tensor(optimizer.param_groups[0]["lr"])
                if amp:
                    scalers["model"].step(optimizer)
                    scalers["model"].update()
                else:
                    optimizer.step()
            step += 1
            info.step = step
            method.after_optimizer_step(info)
            for k, v in losses.items():
                logged.setdefault(k, []).append(v.detach() if isinstance(v, torch.Tensor) and v.requires_grad else v)
            n_steps += 1
            samples += len(labeled_batch) + (len(unlabeled_batch) if unlabeled_batch is not None else 0)
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # kernels still queued belong to this epoch's time
        epoch_costs.append((time.perf_counter() - t0, n_steps))
        train_time += epoch_costs[-1][0]
        if scheduler is not None:
            scheduler.step()  # per epoch (paper 003); `train/lr` is the rate this epoch's steps used

        scalars: dict[str, float] = {"epoch": float(epoch + 1)}
        scalars.update({f"train/{k}": _mean(v) for k, v in logged.items()})
        val_metrics: dict[str, Any] | None = None
        if cls.warm_start_from_best and epoch < selection_start and val_pool is not None:
            val_metrics = evaluate(method, val_pool, data.val, data)
            score_now = val_metrics[train.checkpoint_metric]
            if score_now > warmup_best["score"]:
                warmup_best = {"epoch": epoch + 1, "score": float(score_now),
                               "method": {k: v.detach().clone() for k, v in method_state(method).items()}}
            if epoch == selection_start - 1 and warmup_best["method"] is not None:
                _load_into(method, warmup_best["method"])  # continue from the best warm-up state
                scalars["train/warm_start_epoch"] = float(warmup_best["epoch"])
        if cls.rank_summed_buffers:
            _sum_over_ranks([getattr(method, b) for b in cls.rank_summed_buffers], world_size)
        unlabeled_proba = None
        if unlabeled_pool is not None and (cls.needs_unlabeled_predictions or oracle is not None):
            unlabeled_proba = predict_proba(method, unlabeled_pool)
        end_info = StepInfo(epoch=epoch, step=step, total_steps=total_steps, num_epochs=train.epochs)
        extra = method.on_epoch_end(end_info, unlabeled_proba if cls.needs_unlabeled_predictions else None) or {}
        scalars.update({f"train/{k}": float(v) for k, v in extra.items()})
        if oracle is not None and unlabeled_proba is not None:
            plabel_acc = pseudo_label_accuracy(unlabeled_proba.argmax(dim=1).cpu().numpy(), oracle)
            scalars["train/pseudo_label_accuracy"] = plabel_acc
            scalars.update(pseudo_label_scalars(pool_pseudo_labels(method, unlabeled_pool, unlabeled_proba), oracle,
                                                data.num_classes))

        if val_metrics is None:
            val_metrics = evaluate(method, val_pool, data.val, data) if val_pool is not None else {}
        scalars.update({f"val/{k}": float(v) for k, v in val_metrics.items() if isinstance(v, (int, float))})
        epoch += 1
        current = val_metrics.get(train.checkpoint_metric, float(epoch)) if val_metrics else float(epoch)
        if val_metrics and train.checkpoint_metric not in val_metrics:
            raise ValueError(f"checkpoint_metric {train.checkpoint_metric!r} is not a validation metric; "
                             f"choose one of {sorted(k for k, v in val_metrics.items() if isinstance(v, (int, float)))}")
        selecting = epoch > selection_start  # `epoch` is 1-based here: epochs before selection never count
        improved = selecting and current > best["score"]
        if improved:
            best = {"epoch": epoch, "score": float(current), "val_metrics": val_metrics,
                    "method": {k: v.detach().clone() for k, v in method_state(method).items()}}
            bad_epochs = 0
        elif selecting:
            bad_epochs += 1
        stopped_early = train.patience is not None and bad_epochs >= train.patience and epoch < train.epochs
        scalars["val/best_epoch"] = float(best["epoch"])
        history.append(scalars)
        if logger is not None and rank == 0:
            # The confusion image is drawn when validation improves (the state test will use): a
            # figure per epoch would cost more than a small model's epoch.
            logger.log_epoch(epoch, scalars, val_metrics.get("confusion") if improved else None, data.class_names)
        if report is not None:
            report(scalars, {
                "epoch": epoch, "step": step, "samples": samples, "train_time": train_time,
                "method": method_state(method), "streams": streams.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                **({"optimizers": {n: o.state_dict() for n, o in optimizers.items()}} if manual
                   else {"optimizer": optimizer.state_dict()}),
                **({"scalers": {n: sc.state_dict() for n, sc in scalers.items()}} if scalers else {}),
                "best": best, "warmup_best": warmup_best, "history": history, "bad_epochs": bad_epochs,
                "stopped_early": stopped_early,
                "torch_rng": torch.get_rng_state(),
            })

    drawn, draws = _visit_summary(streams, device, world_size)
    unwrap_trainable(method)
    if best["method"] is not None:
        method.load_state_dict(best["method"])
    test_metrics = {}
    if data.test is not None and len(data.test):
        test_metrics = evaluate(method, TensorPool(data.test, device), data.test, data)
    if plabel_acc != plabel_acc and history:  # resumed after the last epoch: take the recorded value
        plabel_acc = history[-1].get("train/pseudo_label_accuracy", float("nan"))
    return FoldResult(
        test_metrics=test_metrics,
        best_val_metrics=best["val_metrics"],
        best_epoch=int(best["epoch"]),
        epochs_run=epoch,
        history=history,
        wall_time_s=train_time,
        samples_per_s=samples * world_size / train_time if train_time > 0 else float("nan"),
        resumed_from_epoch=start_epoch,
        stopped_early=stopped_early,
        pseudo_label_accuracy=plabel_acc,
        unlabeled_pool_size=num_unlabeled,
        unlabeled_rows_drawn=drawn,
        unlabeled_draws=draws,
        selection_start_epoch=selection_start,
        steps_run=step,
        steady_step_s=_steady_step_s(epoch_costs),
        method=method if return_method else None,
    )


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


def _steady_step_s(epoch_costs: list[tuple[float, int]]) -> float:
    """Per-step seconds over the epochs after the first: the cost a long run pays, without warm-up."""
    later = epoch_costs[1:]
    steps = sum(n for _, n in later)
    return sum(t for t, _ in later) / steps if steps else float("nan")

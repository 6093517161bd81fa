"""One fold on a Ray Train TorchTrainer with DDP: the same `fit_fold`, run by N workers.

- Data: the normalized `FoldData` is `ray.put` once by the driver; workers `ray.get` it (zero-copy
  numpy) — nothing is re-featurized per worker.
- DDP: `ray.train.torch.prepare_model` wraps each of `Method.trainable`, so their forward passes
  synchronise gradients; `TwoStreams` shards rows by rank.
- Checkpoints: every worker calls `ray.train.report(metrics, checkpoint=...)` each epoch (Train V2:
  a barrier); rank 0 writes `state.pt` (model, optimizer, streams, best state, history), the others
  pass no checkpoint. After training, one more report carries the test metrics and `result.json`.
  Both are read back without running code from the file (`train.checkpoint_io`).
- Storage: `storage_path` is a folder or a URI (`s3://...`, see `semiemo.storage`), given to Ray as is.
- Faults: `FailureConfig(max_failures)` restarts the worker group (default 3 with several workers);
  the loop resumes from `ray.train.get_checkpoint()`. Out of retries, or workers that cannot be placed,
  end in one line (`train.run_watch`). Starting again with the same `name` and `storage_path` resumes
  too (V2 restores the run's checkpoint snapshot), e.g. to train a finished run for more epochs.
- TensorBoard events are written by rank 0 to `log_dir`; a URI there is written locally and uploaded.
"""

from __future__ import annotations

import io
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from semiemo.methods.base import hparams_from_dict
from semiemo.methods.registry import get_method
from semiemo.models.spec import ModelSpec
from semiemo.train.checkpoint_io import load_state, result_from_json, result_to_json
from semiemo.train.config import TrainConfig
from semiemo.train.loop import FoldData, FoldResult, fit_fold
from semiemo.train.run_watch import START_ATTEMPTS, max_failures_for, run_watched

STATE_FILE = "state.pt"
RESULT_FILE = "result.json"


@dataclass
class FaultInjection:
    """Test hook: worker `rank` SIGKILLs itself once, just before reporting epoch `epoch` (1-based).

    `marker` is a file created before the kill, so the restarted worker does not kill itself again.
    The sleep lets the controller collect the previous epoch's checkpoint first (it polls every 2 s).
    With `node_id`, the worker on that Ray node (whatever its rank) writes the marker and waits
    `sleep_s` instead of killing itself: the test removes the whole node meanwhile.
    """

    epoch: int
    marker: str
    rank: int = 1
    sleep_s: float = 3.0
    node_id: str | None = None


@dataclass
class DistributedFold:
    """Everything a worker needs besides the data (which travels by object reference)."""

    method_name: str
    method_params: dict[str, Any]
    train: TrainConfig
    spec: ModelSpec
    seed: int = 0
    log_dir: str | None = None
    fault: FaultInjection | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    pretrained: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # slot -> resolved weights


def _train_loop_per_worker(config: dict[str, Any]) -> None:
    import ray
    import ray.train
    import ray.train.torch

    job: DistributedFold = config["job"]
    data: FoldData = ray.get(config["data"])
    ctx = ray.train.get_context()
    rank, world_size = ctx.get_world_rank(), ctx.get_world_size()
    torch.set_num_threads(job.train.num_threads or max(1, int(config.get("cpus_per_worker", 1))))  # 0.5 CPU: 1 thread

    resume_state = None
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as ckpt_dir:
            resume_state = load_state(Path(ckpt_dir) / STATE_FILE)

    last_state: dict[str, bytes] = {}

    def report(metrics: dict[str, float], state: dict[str, Any]) -> None:
        fault = job.fault
        on_node = fault is not None and fault.node_id is not None
        chosen = fault is not None and (ray.get_runtime_context().get_node_id() == fault.node_id if on_node
                                        else rank == fault.rank)
        if chosen and int(metrics["epoch"]) == fault.epoch and not os.path.exists(fault.marker):
            if on_node:
                Path(fault.marker).write_text(f"rank {rank} on node {fault.node_id} waits at epoch {fault.epoch}\n")
                time.sleep(fault.sleep_s)
            else:
                time.sleep(fault.sleep_s)
                Path(fault.marker).write_text(f"killed rank {rank} at epoch {fault.epoch}\n")
                os.kill(os.getpid(), signal.SIGKILL)
        # `val/ua` also as `val_ua`: inside a Tune trial these reports reach the searcher and ASHA
        # (TuneReportCallback), whose specs name flat metrics.
        metrics = {**metrics, **{"val_" + k[4:]: v for k, v in metrics.items() if k.startswith("val/")}}
        if rank != 0:
            ray.train.report(metrics, checkpoint=None)
            return
        buf = io.BytesIO()
        torch.save(state, buf)
        last_state["bytes"] = buf.getvalue()
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / STATE_FILE).write_bytes(last_state["bytes"])
            ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp))

    logger = None
    log_tmp = None
    if rank == 0 and job.log_dir:
        from semiemo.storage import is_uri
        from semiemo.train.tb_logging import TensorBoardLogger

        # a URI (the storage root on a bucket): events go to a local folder, uploaded when the fold ends
        log_tmp = tempfile.mkdtemp(prefix="semiemo-tb-") if is_uri(job.log_dir) else None
        logger = TensorBoardLogger(log_tmp or job.log_dir)
    result = fit_fold(
        data, job.method_name, job.method_params, job.train, job.spec,
        seed=job.seed, report=report, logger=logger, resume_state=resume_state, rank=rank,
        world_size=world_size, device=ray.train.torch.get_device(),
        wrap_trainable=_ddp_wrapper(job.method_name, job.method_params), pretrained=job.pretrained,
    )
    # the last report also names the best epoch's validation metrics (as `val_<m>`, what Tune specs use)
    final = {"epoch": float(result.epochs_run), "training_finished": 1.0,  # not `done`: Tune reads that as "stop"
             **{f"test/{k}": float(v) for k, v in result.test_metrics.items() if isinstance(v, (int, float))},
             **{f"val_{k}": float(v) for k, v in result.best_val_metrics.items() if isinstance(v, (int, float))}}
    if rank != 0:
        ray.train.report(final, checkpoint=None)
        return
    if logger is not None:
        logger.log_final(result.test_metrics, data.class_names, step=result.epochs_run)
        logger.close()
        if log_tmp is not None:
            from semiemo.storage import upload

            upload(log_tmp, job.log_dir)
    with tempfile.TemporaryDirectory() as tmp:
        if "bytes" not in last_state and resume_state is not None:  # resumed a finished run: keep its state
            buf = io.BytesIO()
            torch.save(resume_state, buf)
            last_state["bytes"] = buf.getvalue()
        if "bytes" in last_state:
            (Path(tmp) / STATE_FILE).write_bytes(last_state["bytes"])
        (Path(tmp) / RESULT_FILE).write_text(result_to_json(result))
        ray.train.report(final, checkpoint=ray.train.Checkpoint.from_directory(tmp))


def _ddp_wrapper(method_name: str, method_params: dict[str, Any]):
    """`prepare_model`, told when a method's plan leaves some parameters unused in a step (e.g. SAE's phases)."""
    import ray.train.torch  # Ray is imported where it runs: importing it costs seconds the loop's users need not pay

    cls = get_method(method_name)
    if cls.plan(hparams_from_dict(cls.HParams, method_params)).ddp_find_unused_parameters:
        return lambda module: ray.train.torch.prepare_model(
            module, parallel_strategy_kwargs={"find_unused_parameters": True})
    return ray.train.torch.prepare_model


def fit_fold_distributed(
    data: FoldData,
    job: DistributedFold,
    *,
    run_name: str,
    storage_path: str | Path,
    workers: int | None = None,
    cpus_per_worker: float = 1,
    return_state: bool = False,
) -> FoldResult | tuple[FoldResult, dict[str, Any]]:
    """Train one fold with `workers` DDP workers (default `job.train.workers`); returns rank 0's result.

    Same `run_name` + `storage_path` as an earlier run: it resumes from that run's latest checkpoint.
    `return_state=True` also returns the last checkpoint_state (weights of the last and best epoch),
    for jobs whose product is the trained network itself (paper 004's front-end pre-training).
    """
    import ray
    import ray.train
    from ray.train.torch import TorchTrainer

    from semiemo import storage
    from semiemo.jobs.ray_runtime import check_cluster, init_ray

    init_ray()
    check_cluster()
    workers = workers or job.train.workers
    use_gpu = job.train.use_gpu
    if use_gpu is None:
        use_gpu = bool(ray.cluster_resources().get("GPU", 0) >= workers)
    storage_path = storage.join(storage_path)  # a URI goes to Ray untouched; a folder made absolute
    if not storage.is_uri(storage_path):
        Path(storage_path).mkdir(parents=True, exist_ok=True)
    max_failures = max_failures_for(workers, job.train.max_failures)
    callbacks = []
    try:  # inside a Tune trial, rank 0's per-epoch reports go on to Tune (Train V2 + Tune composition)
        from ray.tune.integration.ray_train import TuneReportCallback

        callbacks.append(TuneReportCallback())
    except RuntimeError:  # "must be used in a Tune session": a plain run
        pass
    trainer = TorchTrainer(
        _train_loop_per_worker,
        train_loop_config={"job": job, "data": ray.put(data), "cpus_per_worker": cpus_per_worker},
        scaling_config=ray.train.ScalingConfig(num_workers=workers, use_gpu=use_gpu,
                                               resources_per_worker={"CPU": cpus_per_worker}),
        run_config=ray.train.RunConfig(
            name=run_name,
            storage_path=storage_path,
            # worker-group starts that time out or fail: START_ATTEMPTS in all, then one line (run_watch)
            failure_config=ray.train.FailureConfig(max_failures=max_failures,
                                                   controller_failure_limit=START_ATTEMPTS - 1),
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=2),
            callbacks=callbacks,
        ),
    )
    outcome = run_watched(
        trainer.fit, run_name=run_name, workers=workers, resources={"CPU": cpus_per_worker, **({"GPU": 1} if use_gpu else {})},
        max_failures=max_failures, placement_timeout_s=job.train.placement_timeout_s,
        last_checkpoint=lambda: last_checkpoint(storage_path, run_name),
        resume_hint="run the same command again (same --name and storage root): it continues from that checkpoint")
    if outcome.checkpoint is None:
        raise RuntimeError(f"distributed run {run_name!r} under {storage_path} finished without a checkpoint")
    with outcome.checkpoint.as_directory() as ckpt_dir:
        result_file = Path(ckpt_dir) / RESULT_FILE
        if not result_file.exists():
            raise RuntimeError(f"the last checkpoint of run {run_name!r} ({outcome.checkpoint.path}) holds no {RESULT_FILE}")
        result = result_from_json(result_file.read_text())
        if not return_state:
            return result
        state_file = Path(ckpt_dir) / STATE_FILE
        if not state_file.exists():
            raise RuntimeError(f"the last checkpoint of run {run_name!r} holds no {STATE_FILE}: no epoch ran")
        return result, load_state(state_file)


def last_checkpoint(storage_path: str, run_name: str) -> str | None:
    """The newest `checkpoint_*` folder of a run (Ray Train names them by time), or None."""
    import pyarrow.fs as pafs

    from semiemo import storage

    try:
        fs, path = storage.filesystem(storage.join(storage_path, run_name))
        infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    except OSError:
        return None
    names = sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory and i.base_name.startswith("checkpoint_"))
    return storage.join(storage_path, run_name, names[-1]) if names else None

"""cmkt under Ray Train DDP with 2 workers: the transformer, paper 003's schedule and FF2 run unchanged.

Marked slow (a TorchTrainer worker-group start plus 4 epochs: ~1 min idle, 8 min on the loaded 2-core
dev machine); `make test-slow` runs it."""

from __future__ import annotations


import pytest

from av_fold import av_fold
from semiemo.train.config import TrainConfig
from semiemo.train.distributed import DistributedFold, fit_fold_distributed
from semiemo.train.loop import model_spec


@pytest.mark.slow
def test_cmkt_trains_with_two_ddp_workers(ray_local, tmp_path):
    data = av_fold(seed=4, inconsistency=0.2, separation=3.0)
    spec = model_spec(data, backbone="transformer", backbone_options={"layers": 1, "heads": 2, "d_model": 16, "ffn": 32},
                      pad_sides={"audio": "start"})
    train = TrainConfig(epochs=4, batch_size=16, num_threads=1, optimizer="adamax", lr=0.01,
                        lr_schedule="warmup_step_decay", grad_clip_norm=1.0, cpus_per_worker=1.0)
    job = DistributedFold("cmkt", {"fusion": "ff2", "alpha": 0.2}, train, spec, seed=0)
    result = fit_fold_distributed(data, job, run_name="cmkt-ddp2", storage_path=tmp_path, workers=2)
    assert result.epochs_run == 4
    assert [round(h["train/lr"], 6) for h in result.history] == [0.0025, 0.005, 0.0075, 0.01]
    assert "train/oracle_accuracy/fused" in result.history[-1]
    assert result.test_metrics["ua"] > 0.5   # chance 1/3

"""MSSGAN under Ray Train DDP with 2 workers: both optimizers' nets (D+C, G) wrapped and synchronised."""

from __future__ import annotations


import pytest
import torch

from semiemo.train.config import TrainConfig
from semiemo.train.distributed import DistributedFold, fit_fold_distributed
from semiemo.train.loop import model_spec
from test_ssgan import SMALL, _seq_fold


@pytest.mark.slow
def test_mssgan_trains_with_two_ddp_workers(ray_local, tmp_path):
    data = _seq_fold({"fbank": 20, "face": 30}, n_unlabeled=64, seed=1)
    train = TrainConfig(epochs=4, batch_size=16, num_threads=1, lr=2e-3, cpus_per_worker=0.5)
    job = DistributedFold("mssgan", dict(SMALL), train, model_spec(data), seed=0)
    result = fit_fold_distributed(data, job, run_name="mssgan-ddp2", storage_path=tmp_path, workers=2)
    assert result.epochs_run == 4 and len(result.history) == 4
    for key in ("train/d_loss", "train/g_loss", "train/ct", "train/p_fake_on_fake"):
        assert all(torch.isfinite(torch.tensor(h[key])) for h in result.history), key
    assert result.test_metrics["ua"] > 0.45   # chance 1/3

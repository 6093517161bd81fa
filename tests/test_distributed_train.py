"""Ray Train (TorchTrainer + DDP) runs the same loop: same quality, survives a killed worker, resumes.

Three TorchTrainer runs in all (each costs a worker-group start of ~20 s on this machine); the fault
and resume runs are marked slow (~2.5 min together on 2 shared cores): `make test-slow` runs them.
"""

from __future__ import annotations


import pytest

from semiemo.train.config import TrainConfig
from semiemo.train.distributed import DistributedFold, FaultInjection, fit_fold_distributed
from semiemo.train.loop import fit_fold, model_spec
from test_trainer_loop import _fold_data


def _job(data, train: TrainConfig, fault: FaultInjection | None = None) -> DistributedFold:
    return DistributedFold("supervised", {}, train, model_spec(data), seed=0, fault=fault)


def test_ddp_with_two_workers_matches_single_worker_quality(ray_local, tmp_path):
    data = _fold_data(separation=1.5, seed=2)
    train = TrainConfig(epochs=6, batch_size=16, num_threads=1)
    single = fit_fold(data, "supervised", {}, train, seed=0)
    ddp = fit_fold_distributed(data, _job(data, train), run_name="ddp2", storage_path=tmp_path, workers=2)
    assert ddp.epochs_run == 6
    assert ddp.test_metrics["ua"] > 0.5  # chance 0.25
    assert abs(ddp.test_metrics["ua"] - single.test_metrics["ua"]) <= 0.1
    assert ddp.history[-1]["train/loss"] < 0.5 * ddp.history[0]["train/loss"]


@pytest.fixture(scope="module")
def killed_run(ray_local, tmp_path_factory):
    """4 epochs, 2 workers; rank 1 SIGKILLs itself before reporting epoch 3; max_failures=1."""
    store = tmp_path_factory.mktemp("ray_store")
    marker = store / "killed.marker"
    data = _fold_data(seed=3)
    train = TrainConfig(epochs=4, batch_size=16, num_threads=1, max_failures=1)
    result = fit_fold_distributed(data, _job(data, train, FaultInjection(epoch=3, marker=str(marker), rank=1)),
                                  run_name="faulty", storage_path=store, workers=2)
    return data, store, marker, result


def test_sigkilled_worker_restarts_from_last_checkpoint_and_reports_every_epoch(killed_run):
    _, _, marker, result = killed_run
    assert marker.exists()                                     # the kill did happen
    assert result.resumed_from_epoch == 2                      # restarted from epoch 2's checkpoint
    assert result.epochs_run == 4
    assert [h["epoch"] for h in result.history] == [1.0, 2.0, 3.0, 4.0]
    assert result.test_metrics["ua"] > 0.5


def test_starting_again_with_same_name_and_storage_resumes_the_run(killed_run):
    data, store, _, first = killed_run
    more = TrainConfig(epochs=6, batch_size=16, num_threads=1)
    result = fit_fold_distributed(data, _job(data, more), run_name="faulty", storage_path=store, workers=2)
    assert result.resumed_from_epoch == first.epochs_run == 4
    assert result.epochs_run == 6 and len(result.history) == 6
    assert result.history[:4] == first.history

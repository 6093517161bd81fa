"""Two real Ray nodes (`ray.cluster_utils.Cluster`), the storage root on a real S3 server (moto_server):
featurize -> train --workers 2 -> a 2-trial sweep run on both nodes and leave every output under the
root; a local root is refused; a killed node is survived (resume from the last checkpoint, every epoch
once); out of retries and unplaceable workers end in one line.

Each node has 1 CPU, so two 1-CPU workers or trials can only run one per node: the node ids asserted
below are where Ray put them, read back from Ray (placement groups) and from the work itself.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest
import ray

from semiemo import storage
from semiemo.jobs.ray_runtime import check_cluster
from semiemo.train.config import TrainConfig
from semiemo.train.distributed import DistributedFold, FaultInjection, fit_fold_distributed
from semiemo.train.loop import model_spec
from semiemo.train.run_watch import DistributedRunFailed, PlacementTimeout
from test_trainer_loop import _fold_data

_KEEP_ALIVE = threading.Event()   # never set: see the kill-a-node test
CORPUS = "synthetic:acted=24,wild_labeled=24,unlabeled=0,seed=3"
FEATURES = ["social"]


def _listing(uri: str) -> list[str]:
    fs, path = storage.filesystem(uri)
    return [i.path[len(path):].lstrip("/") for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
            if i.type == pafs.FileType.File]


def _pg_nodes_since(before: set[str]) -> list[list[str]]:
    """Node ids of the bundles of every placement group created after `before` (Train's worker groups)."""
    return [sorted(set(pg["bundles_to_node_id"].values())) for pid, pg in ray.util.placement_group_table().items()
            if pid not in before and pg.get("bundles_to_node_id")]


def on_node_objective(cfg, data=None, report=None):
    """A sweep trial: the real `run_experiment`, its rows tagged with the node that ran it."""
    from semiemo.train.experiment import run_experiment

    frame = run_experiment(cfg, data=data, report=report)
    frame["node_id"] = ray.get_runtime_context().get_node_id()
    return frame


@pytest.fixture(scope="module")
def pipeline(two_node_cluster, s3_root):
    """featurize -> train --workers 2 -> 2-trial sweep, all against the S3 root; what ran where."""
    from semiemo.corpora import load_corpus
    from semiemo.features import featurize
    from semiemo.train.config import ExperimentConfig, ProtocolConfig
    from semiemo.train.experiment import run_experiment
    from semiemo.tune.runner import run_sweep
    from semiemo.tune.space import spec_from_dict

    cluster, head, worker = two_node_cluster
    t0 = time.time()
    report = featurize(load_corpus(CORPUS), FEATURES, block_size=6)
    t_feat = time.time() - t0

    before = set(ray.util.placement_group_table())
    cfg = ExperimentConfig(name="ddp-s3", corpus=CORPUS, features=FEATURES, method="supervised",
                           protocol=ProtocolConfig(name="speaker_kfold", folds=2, max_folds=1), seeds=[0],
                           train=TrainConfig(epochs=2, batch_size=8, workers=2, num_threads=1))
    rows = run_experiment(cfg)
    train_nodes = _pg_nodes_since(before)
    t_train = time.time() - t0 - t_feat

    spec = spec_from_dict({
        "name": "s3_sweep",
        "experiment": {"corpus": CORPUS, "features": FEATURES, "method": "supervised", "model_hidden": [8],
                       "protocol": {"name": "speaker_kfold", "folds": 2, "max_folds": 1},
                       "train": {"epochs": 2, "batch_size": 8}},
        "parameters": {"train.lr": {"grid": [0.001, 0.01]}},
        "seeds": [0],
        "resources_per_trial": {"cpu": 1},
    })
    table = run_sweep(spec, objective=on_node_objective, verbose=0)
    t_sweep = time.time() - t0 - t_feat - t_train
    print(f"\nnodes: head {head.node_id[:12]} worker {worker.node_id[:12]}\n"
          f"featurize blocks by node {report.blocks_by_node} ({t_feat:.1f} s)\n"
          f"train --workers 2 ranks on nodes {train_nodes} ({t_train:.1f} s)\n"
          f"sweep trials on nodes {sorted(set(table['node_id']))} ({t_sweep:.1f} s)")
    return {"report": report, "rows": rows, "train_nodes": train_nodes, "table": table,
            "nodes": {head.node_id, worker.node_id}}


def test_featurize_tasks_ran_on_both_nodes(pipeline):
    by_node = pipeline["report"].blocks_by_node
    assert set(by_node) == pipeline["nodes"], by_node
    assert sum(by_node.values()) == 8           # 48 utterances / blocks of 6, each computed once


def test_two_ddp_ranks_ran_one_on_each_node(pipeline):
    assert [pipeline["nodes"]] == [set(n) for n in pipeline["train_nodes"] if len(n) == 2]
    assert pipeline["rows"]["test_ua"].between(0, 1).all()


def test_sweep_trials_ran_on_both_nodes(pipeline):
    table = pipeline["table"]
    assert table["trial_id"].nunique() == 2 and set(table["status"]) == {"TERMINATED"}
    assert set(table["node_id"]) == pipeline["nodes"]


def test_every_output_is_under_the_s3_root(pipeline, s3_root):
    files = _listing(s3_root)
    tops = {f.split("/")[0] for f in files}
    assert tops == {"features", "runs", "sweeps"}, tops
    assert any(f.startswith("features/") and f.endswith(".parquet") for f in files)
    assert "runs/ddp-s3/results.parquet" in files
    assert any(f.startswith("runs/ddp-s3/ray/") and f.endswith("state.pt") for f in files)   # Train checkpoints
    assert any(f.startswith("runs/ddp-s3/tb/") and "tfevents" in f for f in files)            # rank 0's TensorBoard
    assert {"sweeps/s3_sweep/results.parquet", "sweeps/s3_sweep/optuna.db"} <= set(files)
    assert any(f.startswith("sweeps/s3_sweep/tune/") for f in files)                          # Tune's state
    assert sum(f.startswith("sweeps/s3_sweep/trials/") and f.endswith("results.parquet") for f in files) == 2
    from semiemo.paths import home as local_home

    assert not {"features", "runs", "sweeps"} & {p.name for p in local_home().iterdir()}


def test_a_local_storage_root_is_refused_on_two_nodes(two_node_cluster, monkeypatch, tmp_path):
    monkeypatch.setenv("SEMIEMO_STORAGE", str(tmp_path))
    with pytest.raises(storage.StorageNotShared) as e:
        check_cluster()
    line = str(e.value)
    print(f"\nrefusal: {line}")
    assert "\n" not in line and "2 nodes" in line and "--storage" in line and "--storage-shared" in line
    monkeypatch.setenv("SEMIEMO_STORAGE_SHARED", "1")
    check_cluster()                      # declared shared: accepted


def _job(data, train, fault=None):
    return DistributedFold("supervised", {}, train, model_spec(data), seed=0, fault=fault)


@pytest.mark.slow  # ~70 s on 2 cores; `make test-slow` runs it. In `make test`, the 2-node pipeline tests above
# and tests/test_distributed_train.py's SIGKILLed-worker restart cover placement across nodes and resume.
def test_killed_node_run_waits_resumes_from_checkpoint_and_counts_every_epoch_once(two_node_cluster, s3_root,
                                                                                  tmp_path, capfd, monkeypatch):
    """The node of one rank is removed at epoch 3; the restarted group cannot be placed (1 CPU left) and
    says so; a node joins (an autoscaler's part); the run resumes from epoch 2's checkpoint."""
    cluster, _, worker = two_node_cluster
    marker = tmp_path / "at_epoch_3"
    data = _fold_data(seed=3)
    train = TrainConfig(epochs=4, batch_size=16, num_threads=1, max_failures=1, placement_timeout_s=120)
    # the node joins from this helper thread: Ray's node start sets a SIGTERM handler, which Python
    # allows in the main thread only (the driver's own handlers are in place already)
    monkeypatch.setattr(ray._private.utils, "set_sigterm_handler", lambda handler: None)
    fault = FaultInjection(epoch=3, marker=str(marker), node_id=worker.node_id, sleep_s=300)
    added: list = []

    def chaos():
        deadline = time.time() + 240
        while not marker.exists() and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(3)                             # epoch 2's checkpoint reaches the controller (2 s poll)
        cluster.remove_node(worker, allow_graceful=False)
        time.sleep(25)                            # long enough for the wait to be reported
        added.append(cluster.add_node(num_cpus=1))
        # the node's processes die with the thread that started them (Linux parent-death signal):
        # this thread lives as long as the module's cluster
        _KEEP_ALIVE.wait()

    thread = threading.Thread(target=chaos, daemon=True)
    thread.start()
    result = fit_fold_distributed(data, _job(data, train, fault), run_name="killed-node",
                                  storage_path=storage.join(s3_root, "runs", "killed-node"), workers=2)
    err = capfd.readouterr().err
    waits = [line for line in err.splitlines() if line.startswith("semiemo: waiting")]
    print(f"\nkilled node {worker.node_id[:12]}; replacement {added[0].node_id[:12] if added else None}\n"
          + "\n".join(waits[:2]) + f"\nresumed_from_epoch={result.resumed_from_epoch} "
          f"epochs={[h['epoch'] for h in result.history]}")
    assert marker.exists() and added
    assert waits and "node(s) left" in waits[0] and worker.node_id[:12] in waits[0]
    assert result.resumed_from_epoch == 2
    assert [h["epoch"] for h in result.history] == [1.0, 2.0, 3.0, 4.0]   # each epoch once
    assert result.epochs_run == 4


@pytest.mark.slow  # ~45 s together on 2 cores; `make test-slow` runs them
def test_out_of_retries_ends_in_one_line_with_checkpoint_and_resume(two_node_cluster, s3_root, tmp_path):
    data = _fold_data(seed=4)
    train = TrainConfig(epochs=3, batch_size=16, num_threads=1, max_failures=0)
    fault = FaultInjection(epoch=2, marker=str(tmp_path / "killed"), rank=1)
    with pytest.raises(DistributedRunFailed) as e:
        fit_fold_distributed(data, _job(data, train, fault), run_name="no-retries",
                             storage_path=storage.join(s3_root, "runs", "no-retries"), workers=2)
    line = str(e.value)
    print(f"\nout of retries: {line}")
    assert "\n" not in line
    assert "--max-failures 0" in line and "rank 1 on node " in line and "worker process died" in line
    assert "last checkpoint s3://semiemo-test/root/runs/no-retries/no-retries/checkpoint_" in line
    assert "resume:" in line


@pytest.mark.slow  # ~45 s together on 2 cores; `make test-slow` runs them
def test_workers_that_cannot_be_placed_give_up_after_the_timeout_with_one_line(two_node_cluster, s3_root):
    data = _fold_data(seed=5)
    train = TrainConfig(epochs=1, batch_size=16, num_threads=1, placement_timeout_s=12)
    t0 = time.time()
    with pytest.raises(PlacementTimeout) as e:  # 3 workers × 1 CPU on 2 CPUs
        fit_fold_distributed(data, _job(data, train), run_name="unplaceable",
                             storage_path=storage.join(s3_root, "runs", "unplaceable"), workers=3)
    line = str(e.value)
    print(f"\nunplaceable ({time.time() - t0:.0f} s): {line}")
    assert "\n" not in line and "3 workers × {CPU: 1}" in line and "within 12 s" in line
    assert "no checkpoint was written" in line and "starts from epoch 1" in line
    assert time.time() - t0 < 120

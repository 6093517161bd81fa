"""The training loop, its data streams, results records and TensorBoard output (in-process, no Ray)."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from gaussian_featureset import CLASSES, gaussian_featureset, gaussian_fold_data
from semiemo.methods.base import Batch, Method, StepInfo
from semiemo.methods.registry import register
from semiemo.models import build_classifier
from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig
from semiemo.train.experiment import run_experiment
from semiemo.train.loop import FoldData, evaluate, fit_fold, model_spec
from semiemo.train.streams import Split, TensorPool, TwoStreams, shard_of_permutation


def _fold_data(separation: float = 3.0, unlabeled: int = 0, seed: int = 0) -> FoldData:
    return gaussian_fold_data(separation, unlabeled, seed)


def _pool(n: int, dim: int = 3) -> TensorPool:
    return TensorPool(Split({"x": np.arange(n * dim, dtype=np.float32).reshape(n, dim)}))


# --- the loop ----------------------------------------------------------------------------------

def test_loss_falls_and_test_ua_beats_chance_on_separable_data():
    result = fit_fold(_fold_data(), "supervised", {}, TrainConfig(num_threads=1, epochs=6, batch_size=16), seed=0)
    losses = [h["train/loss"] for h in result.history]
    assert losses[-1] < 0.5 * losses[0]
    assert result.test_metrics["ua"] > 0.8  # chance is 0.25
    assert result.epochs_run == 6 and len(result.history) == 6


def test_best_checkpoint_is_the_epoch_with_highest_validation_metric_and_is_what_test_scores():
    data = _fold_data(separation=0.9)  # overlapping classes: validation UA moves from epoch to epoch
    states: dict[int, dict] = {}

    def keep_state(metrics, state):
        states[int(metrics["epoch"])] = {k: v.clone() for k, v in state["method"].items()}

    result = fit_fold(data, "supervised", {}, TrainConfig(num_threads=1, epochs=8, batch_size=16, lr=3e-3), seed=1, report=keep_state)
    val_ua = [h["val/ua"] for h in result.history]
    assert result.best_epoch == 1 + int(np.argmax(val_ua))  # first epoch reaching the maximum
    assert result.best_val_metrics["ua"] == pytest.approx(max(val_ua))
    probe = build_method_with_state(data, states[result.best_epoch])
    assert evaluate(probe, TensorPool(data.test), data.test, data)["ua"] == pytest.approx(result.test_metrics["ua"])


def build_method_with_state(data: FoldData, state: dict) -> Method:
    from semiemo.train.loop import build_method

    method = build_method("supervised", {}, model_spec(data), 0)
    method.load_state_dict(state)
    return method


def test_patience_stops_training_early():
    result = fit_fold(_fold_data(), "supervised", {}, TrainConfig(num_threads=1, epochs=30, batch_size=16, patience=2), seed=0)
    assert result.stopped_early and result.epochs_run < 30
    assert result.epochs_run == result.best_epoch + 2


def test_resume_state_continues_after_its_epoch():
    data = _fold_data()
    saved: dict[int, bytes] = {}

    def save(metrics, state):
        buf = io.BytesIO()
        torch.save(state, buf)
        saved[int(metrics["epoch"])] = buf.getvalue()

    cfg = TrainConfig(num_threads=1, epochs=4, batch_size=16)
    full = fit_fold(data, "supervised", {}, cfg, seed=0, report=save)
    resume = torch.load(io.BytesIO(saved[2]), weights_only=False)
    resumed = fit_fold(data, "supervised", {}, cfg, seed=0, resume_state=resume)
    assert resumed.resumed_from_epoch == 2 and resumed.epochs_run == 4 and len(resumed.history) == 4
    assert [h["epoch"] for h in resumed.history] == [1.0, 2.0, 3.0, 4.0]
    assert resumed.history[-1]["train/loss"] == pytest.approx(full.history[-1]["train/loss"], rel=1e-4)


@dataclass
class _ProbeParams:
    pass


@register
class _ProbeMethod(Method):
    """A stand-in SSL method that records what the trainer hands it."""

    name = "_test_probe"
    HParams = _ProbeParams
    consumes_unlabeled = True

    @classmethod
    def plan(cls, hp):
        return replace(super().plan(hp), pool_predictions=True)

    def __init__(self, spec, hparams, num_unlabeled=0):
        super().__init__(spec, hparams, num_unlabeled)
        self.model = build_classifier(spec)
        self.seen_unlabeled: list[int] = []
        self.unlabeled_index: set[int] = set()
        self.after_steps = 0
        self.epoch_end_shapes: list[tuple] = []

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo):
        assert unlabeled is not None and unlabeled.targets is None
        self.seen_unlabeled.append(len(unlabeled))
        self.unlabeled_index.update(unlabeled.index.tolist())
        loss = -(labeled.targets * F.log_softmax(self.model(labeled.inputs), 1)).sum(1).mean()
        return {"loss": loss, "sup_loss": loss.detach()}

    def after_optimizer_step(self, info):
        self.after_steps += 1

    def on_epoch_end(self, info, unlabeled_predictions=None):
        self.epoch_end_shapes.append(tuple(unlabeled_predictions.shape))
        return {"probe_rows": float(unlabeled_predictions.shape[0])}


def test_trainer_serves_ssl_hooks_unlabeled_stream_and_pool_predictions(monkeypatch):
    data = _fold_data(unlabeled=40)
    built = []
    import semiemo.train.loop as loop

    real = loop.build_method
    monkeypatch.setattr(loop, "build_method", lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    result = fit_fold(data, "_test_probe", {}, TrainConfig(num_threads=1, epochs=2, batch_size=10, mu=3), seed=0)
    probe = built[0]
    assert set(probe.seen_unlabeled) == {30}                 # μ·B
    assert probe.unlabeled_index == set(range(40))           # indices are unlabeled-pool positions
    assert probe.after_steps == 2 * 10                       # once per optimizer step
    assert probe.epoch_end_shapes == [(40, 4), (40, 4)]      # the whole pool, every epoch
    assert result.history[-1]["train/probe_rows"] == 40.0    # on_epoch_end diagnostics are reported
    assert 0.0 <= result.pseudo_label_accuracy <= 1.0        # against oracle_label


def test_oracle_diagnostics_read_a_fixed_sample_of_a_large_pool_and_leave_training_alone():
    """`train.pool_diagnostic_rows`: the per-epoch pool pass that only feeds the oracle diagnostics reads a
    fixed sample; training (losses, selected epoch, test metrics) is identical to reading the whole pool."""
    from semiemo.train.streams import PoolRows, diagnostic_rows

    data = _fold_data(separation=1.5, unlabeled=300)
    cfg = dict(num_threads=1, epochs=3, batch_size=10, mu=2)
    whole = fit_fold(data, "fixmatch", {}, TrainConfig(**cfg, pool_diagnostic_rows=None), seed=0)
    sample = fit_fold(data, "fixmatch", {}, TrainConfig(**cfg, pool_diagnostic_rows=60), seed=0)
    assert [h["train/loss"] for h in sample.history] == [h["train/loss"] for h in whole.history]
    assert sample.test_metrics == whole.test_metrics and sample.best_epoch == whole.best_epoch
    rows = diagnostic_rows(300, 60, seed=0)
    assert len(rows) == 60 and np.all(np.diff(rows) > 0) and np.array_equal(rows, diagnostic_rows(300, 60, seed=0))
    assert diagnostic_rows(300, 300, seed=0) is None and diagnostic_rows(300, None, seed=0) is None
    pool = TensorPool(data.unlabeled)
    got = [b.index.tolist() for b in PoolRows(pool, rows).in_order(25)]
    assert sum(got, []) == rows.tolist()                     # pool row numbers travel as Batch.index
    # accuracy over the 60 sampled rows is k/60; over the whole pool (here) it is not
    assert (sample.pseudo_label_accuracy * 60) == pytest.approx(round(sample.pseudo_label_accuracy * 60))
    assert (whole.pseudo_label_accuracy * 60) != pytest.approx(round(whole.pseudo_label_accuracy * 60))


# --- streams -----------------------------------------------------------------------------------

def test_unlabeled_batch_is_mu_times_labeled_batch():
    streams = TwoStreams(_pool(40), _pool(200), batch_size=8, mu=7, seed=0)
    for labeled, unlabeled in streams.epoch():
        assert len(labeled) == 8 and len(unlabeled) == 56


def test_epoch_is_one_labeled_pass_unless_steps_per_epoch_is_set():
    streams = TwoStreams(_pool(40), None, batch_size=8, seed=0)
    rows = np.concatenate([b.index.numpy() for b, _ in streams.epoch()])
    assert sorted(rows) == list(range(40))
    budget = TwoStreams(_pool(40), None, batch_size=8, seed=0, steps_per_epoch=12)
    assert sum(1 for _ in budget.epoch()) == 12


def test_unlabeled_stream_cycles_through_every_row_across_epochs():
    streams = TwoStreams(_pool(16), _pool(50), batch_size=8, mu=2, seed=0)  # 2 steps x 16 rows per epoch
    seen = [u.index.numpy() for _ in range(4) for _, u in streams.epoch()]
    assert set(np.concatenate(seen)) == set(range(50))
    assert streams.unlabeled_rows.pass_no >= 1


def test_labeled_and_unlabeled_streams_shuffle_independently():
    streams = TwoStreams(_pool(64), _pool(64), batch_size=64, mu=1, seed=3)
    labeled, unlabeled = next(iter(streams.epoch()))
    assert not torch.equal(labeled.index, unlabeled.index)
    again = TwoStreams(_pool(64), _pool(64), batch_size=64, mu=1, seed=3)
    assert torch.equal(next(iter(again.epoch()))[0].index, labeled.index)  # seeded


def test_worker_shards_are_disjoint_and_cover_every_row():
    perm = np.random.default_rng(0).permutation(60)
    shards = [shard_of_permutation(perm, r, 3) for r in range(3)]
    assert sum(len(s) for s in shards) == 60
    assert set(np.concatenate(shards)) == set(range(60))
    assert all(len(set(a) & set(b)) == 0 for i, a in enumerate(shards) for b in shards[i + 1:])


def test_uneven_shards_cover_every_row_and_run_the_same_number_of_steps():
    pools = [TwoStreams(_pool(61), _pool(30), batch_size=8, mu=2, seed=0, rank=r, world_size=2) for r in range(2)]
    epochs = [list(s.epoch()) for s in pools]
    assert len(epochs[0]) == len(epochs[1])
    rows = np.concatenate([b.index.numpy() for ep in epochs for b, _ in ep])
    assert set(rows) == set(range(61))
    assert all(len(b) == 4 for ep in epochs for b, _ in ep[:-1])  # global batch 8 split over 2 workers


# --- results and TensorBoard -------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_experiment(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cfg = ExperimentConfig(name="loop-test", method="supervised", features=["egemaps"], output_dir=str(out),
                           protocol=ProtocolConfig(name="loso", max_folds=2), train=TrainConfig(num_threads=1, epochs=3, batch_size=16))
    df = run_experiment(cfg, gaussian_featureset(n_per_class_speaker=6))
    return cfg, out, df


def test_results_record_is_appended_to_parquet(small_experiment):
    cfg, out, df = small_experiment
    stored = pd.read_parquet(out / "results.parquet")
    assert len(stored) == len(df) == 2
    for column in ("seed", "fold", "method", "test_ua", "test_wa", "test_f1_weighted", "test_confusion",
                   "val_ua", "wall_time_s", "samples_per_s", "config_json"):
        assert column in stored.columns, column
    assert stored["samples_per_s"].gt(0).all()
    assert ExperimentConfig.model_validate_json(stored["config_json"].iloc[0]) == cfg


def test_tensorboard_events_hold_every_loss_scalar_and_the_confusion_image(small_experiment):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, out, df = small_experiment
    acc = EventAccumulator(str(out / "tb" / "seed0" / df["fold"].iloc[0]), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    scalars = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/sup_loss", "val/ua", "val/f1_macro", "test/ua"} <= scalars
    assert len(acc.Scalars("train/loss")) == 3
    assert {"val/confusion", "test/confusion"} <= set(acc.Tags()["images"])
    png = acc.Images("test/confusion")[-1].encoded_image_string
    assert png[:4] == b"\x89PNG"


@pytest.mark.slow
def test_run_experiment_featurizes_the_corpus_when_no_featureset_is_given(tmp_path):
    """End to end: corpus spec -> load_featureset (Ray Data, opensmile) -> folds -> results."""
    from semiemo.jobs.ray_runtime import shutdown_ray

    cfg = ExperimentConfig(name="e2e", corpus="synthetic:acted=60,wild_labeled=20,unlabeled=10,seed=0",
                           features=["egemaps"], feature_store=str(tmp_path / "store"), output_dir=str(tmp_path / "run"),
                           method="supervised", protocol=ProtocolConfig(name="loso", max_folds=1),
                           train=TrainConfig(num_threads=1, epochs=2, batch_size=16))
    try:
        df = run_experiment(cfg)
    finally:
        shutdown_ray()
    assert len(df) == 1 and 0.0 <= df["test_ua"].iloc[0] <= 1.0
    assert (tmp_path / "run" / "results.parquet").exists()


def test_labeled_rows_left_out_by_label_fraction_join_the_unlabeled_pool_with_their_truth_hidden(tmp_path):
    data = gaussian_featureset(n_per_class_speaker=8, unlabeled=20)
    base = dict(name="rest", method="pseudo_label", features=["egemaps"], output_dir=str(tmp_path),
                protocol=ProtocolConfig(name="loso", max_folds=1), label_fraction=0.5,
                method_params={"warmup_epochs": 1}, train=TrainConfig(num_threads=1, epochs=2, batch_size=16))
    with_rest = run_experiment(ExperimentConfig(**base), data).iloc[0]
    without = run_experiment(ExperimentConfig(**{**base, "unlabeled_from_rest": False}), data).iloc[0]
    assert with_rest["n_train"] == without["n_train"]
    # the labeled training rows not drawn by the 50 % subsample are now unlabeled rows
    assert with_rest["n_unlabeled"] - without["n_unlabeled"] == with_rest["n_train"]
    assert 0.0 <= with_rest["pseudo_label_accuracy"] <= 1.0

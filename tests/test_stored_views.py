"""Training on stored audio views (issue 26, item 1): the view interface serves a stored view of each row
per step where the run has them, the feature-space view otherwise, and the run says which it used."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F

from gaussian_featureset import gaussian_fold_data
from semiemo.methods.base import Batch, Method, StepInfo, StoredViews
from semiemo.methods.registry import register
from semiemo.methods.views import Views, noisy, stored_or
from semiemo.models import build_classifier
from semiemo.train.config import TrainConfig
from semiemo.train.loop import fit_fold
from semiemo.train.view_bank import ViewBank, view_source

K = 3


def _batch(n=4, d=5, present=None, value=7.0):
    inputs = {"egemaps": torch.zeros(n, d)}
    views = {}
    if present is not None:
        draws = tuple({"egemaps": torch.full((n, d), value + k)} for k in range(2))
        views = {"strong": StoredViews(draws, torch.as_tensor(present))}
    return Batch(inputs=inputs, index=torch.arange(n), stored_views=views)


def test_a_stored_view_replaces_the_rows_that_have_one_and_the_feature_view_fills_the_rest():
    batch = _batch(present=[True, False, True, False])
    out = stored_or("strong", batch, lambda inputs: {k: v - 1.0 for k, v in inputs.items()})["egemaps"]
    assert out[:, 0].tolist() == [7.0, -1.0, 7.0, -1.0]
    second = stored_or("strong", batch, lambda inputs: inputs, draw=1)["egemaps"]
    assert second[0, 0].item() == 8.0                 # draw 1 is the second stored view


def test_a_policy_without_stored_views_gets_the_feature_space_view():
    batch = _batch(present=[True] * 4)
    torch.manual_seed(0)
    got = Views(weak_dropout=0.5).of("weak", batch)["egemaps"]   # only strong views are stored
    torch.manual_seed(0)
    want = Views(weak_dropout=0.5)("weak", batch.inputs)["egemaps"]
    assert torch.equal(got, want)
    torch.manual_seed(1)
    plain = noisy(_batch(), 0.1)["egemaps"]
    torch.manual_seed(1)
    assert torch.equal(plain, 0.1 * torch.randn(4, 5))  # no views at all: Gaussian noise, as before


@dataclass
class _ViewProbeParams:
    pass


@register
class _ViewProbe(Method):
    """Records the strong view of each unlabeled row the view interface hands a method, per step."""

    name = "_test_view_probe"
    HParams = _ViewProbeParams
    consumes_unlabeled = True
    trainable = ("model",)

    def __init__(self, spec, hparams, num_unlabeled=0):
        super().__init__(spec, hparams, num_unlabeled)
        self.model = build_classifier(spec)
        self.views = Views(weak_dropout=0.1)
        self.seen: list[tuple[int, np.ndarray, np.ndarray]] = []   # (step, pool rows, their strong views)

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo):
        strong = self.views.of("strong", unlabeled)["egemaps"]
        self.seen.append((info.step, unlabeled.index.numpy().copy(), strong.detach().numpy().copy()))
        loss = -(labeled.targets * F.log_softmax(self.model(labeled.inputs), 1)).sum(1).mean()
        return {"loss": loss}

    @torch.no_grad()
    def predict(self, inputs, lengths=None):
        return self.model(inputs, lengths)


def _probe_run(monkeypatch, data, seed=0):
    import semiemo.train.loop as loop

    built = []
    real = loop.build_method
    monkeypatch.setattr(loop, "build_method", lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    fit_fold(data, "_test_view_probe", {}, TrainConfig(num_threads=1, epochs=2, batch_size=8, mu=2, steps_per_epoch=10),
             seed=seed)
    return built[0].seen


def _data_with_strong_views(n_pool=40, missing=()):
    data = gaussian_fold_data(unlabeled=n_pool)
    rng = np.random.default_rng(5)
    views = rng.normal(size=(n_pool, K, 16)).astype(np.float32) + 100.0  # far from any feature-space view
    has = np.ones(n_pool, bool)
    has[list(missing)] = False
    data.view_banks = {"unlabeled": {"strong": ViewBank({"egemaps": views}, has, "strong")}}
    return data, views


def test_the_trainer_hands_each_row_one_of_its_own_stored_views(monkeypatch):
    data, views = _data_with_strong_views()
    seen = _probe_run(monkeypatch, data)
    assert len(seen) == 20
    for _, rows, strong in seen:
        for row, x in zip(rows, strong):
            assert any(np.array_equal(x, views[row, k]) for k in range(K)), f"row {row} got no stored view of its own"


def test_a_row_drawn_at_several_steps_gets_different_stored_views(monkeypatch):
    data, views = _data_with_strong_views()
    picked: dict[int, set[int]] = {}
    for _, rows, strong in _probe_run(monkeypatch, data):
        for row, x in zip(rows, strong):
            picked.setdefault(int(row), set()).add(next(k for k in range(K) if np.array_equal(x, views[row, k])))
    assert np.mean([len(ks) > 1 for ks in picked.values()]) > 0.5   # 20 steps x 16 rows over 40: ~8 draws a row


def test_view_draws_are_reproducible_from_the_seed(monkeypatch):
    data, _ = _data_with_strong_views()
    first, again = _probe_run(monkeypatch, data), _probe_run(monkeypatch, data)
    assert all(np.array_equal(a[2], b[2]) for a, b in zip(first, again))


def test_rows_without_stored_views_get_the_feature_space_view(monkeypatch):
    data, views = _data_with_strong_views(missing=range(0, 40, 2))
    for _, rows, strong in _probe_run(monkeypatch, data):
        stored_rows = rows % 2 == 1
        assert (np.abs(strong[stored_rows]).mean(axis=1) > 50).all()    # stored: around +100
        assert (np.abs(strong[~stored_rows]).mean(axis=1) < 10).all()   # feature-space: the z-scored row, masked


def test_view_source_names_the_stored_policies_or_feature_space():
    data, _ = _data_with_strong_views()
    assert view_source(data.view_banks) == f"audio:strong={K}"
    assert view_source({}) == "feature"


# --- end to end: featurize views, train on them, and the error when they are missing ------------------

SR = 16000


def _tone(seconds: float, f0: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8)) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
    return (0.2 * x / np.max(np.abs(x)) + 0.003 * rng.normal(size=t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory, ray_local):
    """12 utterances of 3 speakers x 2 classes, with plain egemaps and 2 weak + 2 strong stored views."""
    from semiemo.commands.features import run_featurize

    tmp = tmp_path_factory.mktemp("stored_views")
    rows = []
    for s in range(3):
        for c, label in enumerate(("angry", "sad")):
            for i in range(2):
                path = tmp / f"s{s}_{label}_{i}.wav"
                sf.write(path, _tone(0.8 + 0.1 * i, (220 if c == 0 else 110) + 7 * s, seed=10 * s + i), SR)
                rows.append({"utt_id": path.stem, "corpus": "tiny", "split_group": f"s{s}", "speaker": f"s{s}",
                             "domain": "acted", "labeled": True, "label": label, "path": str(path)})
    manifest = tmp / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    store = str(tmp / "store")
    for augment in ("weak", "strong"):
        run_featurize(str(manifest), "egemaps", store, None, views=2, augment=augment, progress=False)
    return str(manifest), store


def _cfg(manifest, store, **kw):
    from semiemo.train.config import ExperimentConfig

    return ExperimentConfig(corpus=manifest, features=["egemaps"], feature_store=store, method="fixmatch",
                            label_fraction=0.5, seeds=[0], protocol={"name": "loso", "max_folds": 1},
                            train=TrainConfig(num_threads=1, epochs=2, batch_size=4, steps_per_epoch=3), **kw)


def test_a_run_on_stored_views_records_its_view_source(tiny_corpus, tmp_path):
    from semiemo.train.experiment import run_experiment

    manifest, store = tiny_corpus
    audio = run_experiment(_cfg(manifest, store, views="weak:2,strong:2", output_dir=str(tmp_path / "a")))
    feature = run_experiment(_cfg(manifest, store, output_dir=str(tmp_path / "f")))
    assert audio["view_source"].tolist() == ["audio:strong=2,weak=2"]
    assert audio["stored_view_share_unlabeled"].tolist() == [1.0]
    assert feature["view_source"].tolist() == ["feature"]


def test_asking_for_views_that_are_not_stored_names_the_entry_and_the_featurize_command(tiny_corpus, tmp_path):
    from semiemo.features.audio_views import MissingStoredViews
    from semiemo.train.experiment import run_experiment

    manifest, store = tiny_corpus
    with pytest.raises(MissingStoredViews) as err:
        run_experiment(_cfg(manifest, store, views="strong:5", output_dir=str(tmp_path / "x")))
    text = str(err.value)
    assert "egemaps_strong_views" in text
    assert f"semiemo featurize --corpus {manifest} --features egemaps --views 5 --augment strong" in text


def test_cli_train_refuses_missing_views_with_the_featurize_command(tiny_corpus, tmp_path):
    from typer.testing import CliRunner

    from semiemo.cli import app

    manifest, store = tiny_corpus
    result = CliRunner().invoke(app, ["train", "--corpus", manifest, "--features", "egemaps", "--feature-store", store,
                                      "--method", "fixmatch", "--epochs", "1", "--views", "weak:9",
                                      "--out", str(tmp_path / "cli")], env={**os.environ, "COLUMNS": "300"})
    assert result.exit_code == 2
    assert "--views 9 --augment weak" in " ".join(result.output.split())


def test_a_sweep_checks_the_stored_views_of_every_arms_features_before_any_trial(tmp_path):
    """Two arms ask for the same views of different features; only the first's are stored. The driver names the
    second's before any trial (it once checked each policy and K only once, whatever the corpus or features)."""
    from semiemo.corpora import load_manifest
    from semiemo.corpora.manifest import manifest_hash
    from semiemo.features.audio_views import MissingStoredViews, make_views
    from semiemo.features.store import FeatureStore, store_key
    from semiemo.tune.runner import _prepare_on_driver
    from semiemo.tune.space import SearchSpace

    corpus, store = "synthetic:acted=12,wild_labeled=0,unlabeled=0,seed=1", str(tmp_path / "store")
    stored = make_views(["egemaps"], 2, "weak")[0]
    FeatureStore(store).entry(store_key(manifest_hash(load_manifest(corpus)), stored)).write_meta({"complete": True})
    spec = SearchSpace.model_validate({
        "name": "t", "experiment": {"corpus": corpus, "features": ["egemaps"], "method": "mixmatch",
                                    "feature_store": store, "views": {"weak": 2}},
        "arms": {"a": {"features": ["egemaps"]}, "b": {"features": ["is10"]}},
        "parameters": {"arm": {"grid": ["a", "b"], "scale": "category"}}})
    with pytest.raises(MissingStoredViews, match="of 'is10'"):
        _prepare_on_driver(spec, address=None)


@pytest.mark.parametrize("method,params", [("pi_model", {}), ("mean_teacher", {}), ("mixmatch", {"augmentations": 2})])
def test_one_stored_view_is_refused_for_a_method_that_compares_two_of_a_row(method, params):
    """With K = 1 both draws of a row are the same input: a consistency term between them trains nothing."""
    data = gaussian_fold_data(unlabeled=20)
    rng = np.random.default_rng(0)
    data.view_banks = {"unlabeled": {"weak": ViewBank({"egemaps": rng.normal(size=(20, 1, 16)).astype(np.float32)},
                                                      np.ones(20, bool), "weak")}}
    with pytest.raises(ValueError, match=r"compares 2 distinct 'weak' views .* K=1.*--views 4 --augment weak"):
        fit_fold(data, method, params, TrainConfig(num_threads=1, epochs=1, batch_size=8, mu=2, steps_per_epoch=2), seed=0)
    fit_fold(data, "fixmatch", {}, TrainConfig(num_threads=1, epochs=1, batch_size=8, mu=2, steps_per_epoch=2), seed=0)

"""External unlabeled pools beside a labeled target corpus (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from gaussian_featureset import gaussian_featureset
from semiemo.corpora.unlabeled_pool import as_unlabeled, spec_slug, split_pool_spec
from semiemo.features.featureset import FeatureSet
from semiemo.protocols import make_folds
from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig
from semiemo.train.experiment import prepare_data, run_experiment


def _pool_featureset(n: int = 30, labeled_source: bool = True) -> FeatureSet:
    """Gaussian rows of another corpus whose label column is filled (it must be hidden)."""
    src = gaussian_featureset(n_per_class_speaker=3, speakers=3, dim=16, seed=5)
    src = src.subset(np.arange(min(n, len(src))))
    manifest = src.manifest.assign(speaker=["spk0"] * len(src), split_group="spk0")  # same ids as the target
    return src.replace(manifest=as_unlabeled(manifest if labeled_source else manifest.assign(label=None, labeled=False),
                                             "wildpool"))


def test_pool_rows_never_train_validate_or_test_and_only_enter_the_unlabeled_pool():
    target = gaussian_featureset(n_per_class_speaker=6, speakers=4, dim=16)
    combined = target.replace(manifest=target.manifest.assign(pool="")).append(_pool_featureset())
    prep = prepare_data(ExperimentConfig(features=["egemaps"]), combined)
    pool_rows = np.flatnonzero(prep.features.manifest["pool"].to_numpy() == "wildpool")
    assert (prep.labels[pool_rows] == -1).all()                      # labels hidden from training
    assert (prep.oracle[pool_rows] >= 0).all()                       # ... kept for the diagnostic
    for fold in make_folds(prep.features.manifest, ProtocolConfig(name="loso"), seed=0):
        used = np.concatenate([fold.train_idx, fold.val_idx, fold.test_idx])
        assert not np.isin(pool_rows, used).any()
        # a pool speaker id equal to a target speaker's ('spk0') is prefixed, so the pool is whole in every fold
        assert np.isin(pool_rows, fold.unlabeled_idx).all()


def test_a_pool_label_column_scores_the_pseudo_label_diagnostic(tmp_path):
    target = gaussian_featureset(n_per_class_speaker=6, speakers=4, dim=16)
    combined = target.replace(manifest=target.manifest.assign(pool="")).append(_pool_featureset())
    cfg = ExperimentConfig(name="pool", method="fixmatch", features=["egemaps"], output_dir=str(tmp_path),
                           unlabeled="(appended)", protocol=ProtocolConfig(name="loso", max_folds=1),
                           train=TrainConfig(epochs=2, batch_size=16))
    row = run_experiment(cfg, combined).iloc[0]
    assert row["n_unlabeled"] == 30
    assert 0.0 <= row["pseudo_label_accuracy"] <= 1.0


def test_speaker_ids_are_kept_apart_unless_the_user_says_they_are_shared():
    m = pd.DataFrame({"utt_id": ["a"], "speaker": ["s1"], "split_group": ["s1"], "label": ["anger"], "labeled": [True]})
    apart, shared = as_unlabeled(m, "p"), as_unlabeled(m, "p", share_speakers=True)
    assert apart.loc[0, "speaker"] == "p:s1" and shared.loc[0, "speaker"] == "s1"
    assert apart.loc[0, "oracle_label"] == "anger" and apart.loc[0, "label"] is None and not apart.loc[0, "labeled"]


@pytest.mark.parametrize("spec, slug", [
    ("/data/x/manifest.csv", "x-manifest"),
    ("dir:/data/wild?template={name}.wav", "dir-data-wild"),
    ("casia", "casia"),
])
def test_run_names_from_corpus_specs_are_short_and_safe(spec, slug):
    assert spec_slug(spec) == slug and "/" not in spec_slug(spec)


def test_long_specs_are_truncated_with_a_digest_that_keeps_them_apart():
    a, b = (spec_slug(f"synthetic:acted=0,wild_labeled=0,unlabeled={n}") for n in (20000, 2000))
    assert len(a) <= 40 and len(b) <= 40 and a != b


def test_pool_spec_parts_are_joined_by_plus():
    assert split_pool_spec("casia+synthetic:unlabeled=5") == ["casia", "synthetic:unlabeled=5"]
    with pytest.raises(ValueError, match="empty part"):
        split_pool_spec("casia+")


def test_cli_trains_on_a_target_plus_an_unlabeled_folder_without_labels(tmp_path):
    rng = np.random.default_rng(0)
    pool = tmp_path / "wild"
    pool.mkdir()
    t = np.arange(16000) / 16000
    for i in range(12):  # real audio, no labels, no speakers in the layout
        tone = 0.3 * np.sin(2 * np.pi * (120 + 15 * i) * t * (1 + 0.1 * np.sin(3 * t))) + 0.01 * rng.normal(size=t.size)
        sf.write(pool / f"clip{i:02d}.wav", tone.astype(np.float32), 16000)
    env = {**os.environ, "SEMIEMO_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "semiemo.cli", "train", "--corpus", "synthetic:acted=24,wild_labeled=0,unlabeled=0,seed=3",
           "--unlabeled", f"dir:{pool}?template={{name}}.wav", "--features", "egemaps", "--method", "fixmatch",
           "--protocol", "kfold", "--folds", "2", "--max-folds", "1", "--epochs", "2", "--batch-size", "8"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = list((tmp_path / "home" / "runs").glob("fixmatch-synthetic*+dir-*"))
    assert len(runs) == 1, list((tmp_path / "home" / "runs").iterdir())
    row = pd.read_parquet(runs[0] / "results.parquet").iloc[0]
    assert row["n_unlabeled"] == 12
    assert "unlabeled pool" in proc.stdout


# --- the streamed path ------------------------------------------------------------------------
from semiemo.train.streams import ShuffledCycler, block_permutation  # noqa: E402


def test_a_single_block_is_drawn_in_the_in_memory_order():
    for rank, world in ((0, 1), (0, 2), (1, 2)):
        memory = ShuffledCycler(50, 8, seed=3, stream=1, rank=rank, world_size=world)
        streamed = ShuffledCycler(50, 8, seed=3, stream=1, rank=rank, world_size=world, block_sizes=[50])
        for p in range(3):
            assert np.array_equal(memory.shard(p), streamed.shard(p))


def test_two_workers_take_disjoint_whole_blocks_each_pass_and_cover_the_pool():
    sizes = [30, 25, 40, 10, 35]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    for p in range(4):
        a, b = (block_permutation(sizes, 0, 1, p, r, 2) for r in (0, 1))
        assert not set(a) & set(b)                                  # disjoint shards
        assert sorted(np.concatenate([a, b])) == list(range(140))   # the whole pool, once
        for rows in (a, b):                                         # whole blocks, rows shuffled inside
            blocks = np.searchsorted(offsets, rows, side="right") - 1
            assert all(np.sum(blocks == k) in (0, sizes[k]) for k in range(len(sizes)))
    assert not np.array_equal(block_permutation(sizes, 0, 1, 0, 0, 2), block_permutation(sizes, 0, 1, 1, 0, 2))


@pytest.fixture(scope="module")
def pool_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("poolhome")
    os.environ["SEMIEMO_HOME"] = str(home)
    yield home


def _pool_run(home: Path, budget_mb: float, name: str) -> tuple[pd.DataFrame, list]:
    from semiemo.train import experiment as ex

    histories = []
    original = ex.fit_fold

    def recording_fit_fold(*args, **kwargs):
        result = original(*args, **kwargs)
        histories.append(result.history)
        return result

    ex.fit_fold = recording_fit_fold
    try:
        cfg = ExperimentConfig(
            name=name, corpus="synthetic:acted=24,wild_labeled=0,unlabeled=0,seed=3", features=["egemaps"],
            unlabeled="synthetic:acted=0,wild_labeled=0,unlabeled=40,seed=9", method="fixmatch",
            output_dir=str(home / name), protocol=ProtocolConfig(name="kfold", folds=2, max_folds=1),
            train=TrainConfig(epochs=2, batch_size=8, unlabeled_memory_budget_mb=budget_mb))
        return run_experiment(cfg), histories
    finally:
        ex.fit_fold = original


def test_streamed_and_in_memory_pools_train_identically_for_the_same_seed(pool_home):
    memory, mem_hist = _pool_run(pool_home, 1e9, "memory")
    streamed, str_hist = _pool_run(pool_home, 0.0, "streamed")
    assert not memory.iloc[0]["unlabeled_streamed"] and streamed.iloc[0]["unlabeled_streamed"]
    assert memory.iloc[0]["n_unlabeled"] == streamed.iloc[0]["n_unlabeled"] == 40
    for a, b in zip(mem_hist[0], str_hist[0]):
        assert a["train/loss"] == pytest.approx(b["train/loss"], abs=1e-6)
        assert a["train/mask_rate"] == pytest.approx(b["train/mask_rate"], abs=1e-9)
    assert memory.iloc[0]["test_ua"] == pytest.approx(streamed.iloc[0]["test_ua"])
    assert streamed.iloc[0]["pseudo_label_accuracy"] == pytest.approx(memory.iloc[0]["pseudo_label_accuracy"])


def test_a_streamed_pool_trains_under_ddp_with_two_workers(pool_home):
    cfg = ExperimentConfig(
        name="ddp", corpus="synthetic:acted=24,wild_labeled=0,unlabeled=0,seed=3", features=["egemaps"],
        unlabeled="synthetic:acted=0,wild_labeled=0,unlabeled=40,seed=9", method="fixmatch",
        output_dir=str(pool_home / "ddp"), protocol=ProtocolConfig(name="kfold", folds=2, max_folds=1),
        train=TrainConfig(epochs=2, batch_size=8, workers=2, cpus_per_worker=0.5, unlabeled_memory_budget_mb=0.0))
    row = run_experiment(cfg).iloc[0]
    assert row["unlabeled_streamed"] and row["workers"] == 2
    # each step draws 4 rows on each of 2 workers (B = 8 split over 2 workers, μ = 1): all ranks counted
    assert row["unlabeled_draws"] > 0 and row["unlabeled_draws"] % 8 == 0
    assert 0 < row["unlabeled_rows_drawn"] <= 40


def test_unlabeled_quantity_report_says_when_a_point_drew_less_than_its_pool():
    from semiemo.analysis.reproduce import pool_coverage_lines
    from semiemo.tune.space import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "search_spaces" / "unlabeled_quantity.yaml")
    table = pd.DataFrame({spec.x_param: [100, 100, 5000], "n_unlabeled": [100, 100, 5000],
                          "unlabeled_rows_drawn": [100, 100, 1200], "unlabeled_draws": [600, 600, 1200]})
    text = "\n".join(pool_coverage_lines(table, spec))
    assert "| 5000 | 5,000 | 1,200 | 1.0 |" in text
    assert "At 5000 training drew fewer distinct rows than the pool holds" in text


def test_comparison_footnote_names_what_pseudo_label_accuracy_was_scored_against():
    from semiemo.analysis.compare import oracle_note

    cfg = ExperimentConfig(unlabeled="dir:/x?template={name}.wav").model_dump_json()
    rows = pd.DataFrame({"pseudo_label_accuracy": [0.4], "label_fraction": [0.2], "config_json": [cfg]})
    note = oracle_note(rows)
    assert "label fraction moved into the pool" in note and "external pool" in note
    assert "not measured" in oracle_note(rows.assign(pseudo_label_accuracy=np.nan))

"""What a new user tripped over with external pools on real corpora (issue 26, item 3), one test each."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import typer

from gaussian_featureset import gaussian_featureset
from semiemo.corpora.unlabeled_pool import as_unlabeled, join_parts, pool_parts
from semiemo.label_vocabulary import apply_label_map, check_label_map
from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig

POOL_A = "synthetic:acted=0,wild_labeled=0,unlabeled=12,seed=9,visual_in_manifest=false"
POOL_B = "synthetic:acted=0,wild_labeled=0,unlabeled=8,seed=10,visual_in_manifest=false"


# --- 1. a joined pool is featurized corpus by corpus ---------------------------------------------

@pytest.fixture(scope="module")
def joined_pool(tmp_path_factory, ray_local):
    from semiemo.features import featurize
    from semiemo.features.pool import featurize_pool
    from semiemo.features.registry import make_featurizer

    store = str(tmp_path_factory.mktemp("poolstore") / "store")
    first = featurize(POOL_A, ["egemaps"], store_root=store, progress=False)  # A used before, on its own
    parts = pool_parts(f"{POOL_A}+{POOL_B}")
    reports = featurize_pool(parts, [make_featurizer("egemaps")], store, progress=False)
    return store, first, parts, reports


def test_a_corpus_already_in_the_store_is_not_featurized_again_for_a_joined_pool(joined_pool):
    _, first, _, reports = joined_pool
    assert reports[0].manifest_hash == first.manifest_hash
    assert reports[0].featurizers["egemaps"].blocks_computed == 0
    assert reports[1].featurizers["egemaps"].blocks_computed == 1


def test_a_joined_pool_adds_one_store_entry_per_corpus_and_none_for_the_join(joined_pool):
    from semiemo.corpora.manifest import manifest_hash
    from semiemo.features.store import FeatureStore

    store, _, parts, _ = joined_pool
    hashes = {e.key.manifest_hash for e in FeatureStore(store).entries()}
    assert hashes == {manifest_hash(p.manifest) for p in parts}
    assert manifest_hash(join_parts(parts)) not in hashes


def test_a_joined_pool_reads_each_rows_features_from_its_own_corpus(joined_pool):
    from semiemo.features import load_featureset
    from semiemo.features.pool import load_pool_featureset

    store, _, parts, _ = joined_pool
    pool = join_parts(parts)
    joined = load_pool_featureset(parts, pool, ["egemaps"], store, progress=False)
    assert len(joined) == 20 and not joined.manifest["utt_id"].duplicated().any()
    assert not joined.manifest["labeled"].any()
    own_b = load_featureset(parts[1].manifest, ["egemaps"], store, progress=False)
    row = joined.manifest.index[joined.manifest["pool"] == parts[1].name][3]
    source = joined.manifest.loc[row, "source_utt_id"]
    np.testing.assert_array_equal(joined.groups["egemaps"][row],
                                  own_b.groups["egemaps"][np.flatnonzero(own_b.manifest["utt_id"] == source)[0]])


def test_a_streamed_joined_pool_reads_the_same_rows_as_the_in_memory_one(joined_pool):
    from semiemo.features.pool import load_pool_featureset
    from semiemo.features.registry import make_featurizer
    from semiemo.train.pool_stream import open_stored_pool

    store, _, parts, _ = joined_pool
    pool = join_parts(parts)
    stored = open_stored_pool(parts, pool, [make_featurizer("egemaps")], store, ["egemaps"])
    assert len(stored) == 20 and len({b.entries["egemaps"] for b in stored.blocks}) == 2
    streamed = np.concatenate([stored.read_block(b)[0]["egemaps"] for b in range(len(stored.blocks))])
    memory = load_pool_featureset(parts, pool, ["egemaps"], store, progress=False).groups["egemaps"]
    assert sorted(map(tuple, streamed.round(5))) == sorted(map(tuple, memory.round(5)))


# --- 2. one emotion vocabulary ------------------------------------------------------------------

@pytest.mark.parametrize("raw, spec, name", [
    ("angry", "canonical", "anger"), ("happy", "canonical", "happiness"), ("sad", "canonical", "sadness"),
    ("anger", "canonical", "anger"), ("W", "emodb", "anger"), ("05", "ravdess", "anger"),
    ("exc", "iemocap", "happiness"), ("joy", "meld", "happiness"), ("HAP", "crema-d", "happiness"),
    ("angry", "none", "angry"), ("W", "W:anger;F:happiness", "anger"),
])
def test_corpus_label_names_map_onto_the_canonical_vocabulary(raw, spec, name):
    assert apply_label_map([raw], spec) == [name]


def test_a_task_map_applies_on_top_of_the_canonical_names():
    assert apply_label_map(["angry", "anger", "ang", "neutral", None], {"anger": "negative", "neutral": "neutral"}) == \
        ["negative", "negative", "negative", "neutral", None]


def test_an_unknown_label_map_name_is_an_error_listing_the_known_ones():
    with pytest.raises(ValueError, match="canonical, none, casia"):
        check_label_map("emodbb")
    with pytest.raises(ValueError):
        ExperimentConfig(label_map="nonsense")


def _pool_with_labels(labels: list[str]):
    src = gaussian_featureset(n_per_class_speaker=2, speakers=2, dim=16, seed=5)
    src = src.subset(np.arange(len(labels)))
    return src.replace(manifest=as_unlabeled(src.manifest.assign(label=labels, labeled=True), "other"))


def test_a_pools_adjective_labels_score_against_the_targets_noun_classes_by_default():
    from semiemo.train.experiment import prepare_data

    target = gaussian_featureset(n_per_class_speaker=4, speakers=3, dim=16)
    classes = sorted(set(target.manifest["label"]))
    adjectives = {"anger": "angry", "happiness": "happy", "sadness": "sad"}
    pool_labels = [adjectives.get(c, c) for c in classes] * 2
    combined = target.replace(manifest=target.manifest.assign(pool="")).append(_pool_with_labels(pool_labels))
    pool_rows = np.flatnonzero(combined.manifest["pool"].to_numpy() == "other")
    canonical = prepare_data(ExperimentConfig(features=["egemaps"]), combined)
    raw = prepare_data(ExperimentConfig(features=["egemaps"], label_map="none"), combined)
    assert set(adjectives) & set(classes), classes
    assert (canonical.oracle[pool_rows] >= 0).all()
    assert (raw.oracle[pool_rows] == -1).sum() == 2 * len(set(adjectives) & set(classes))


def test_a_pool_whose_labels_do_not_map_is_warned_about_with_counts():
    from semiemo.train.experiment import pool_label_warnings

    target = pd.DataFrame({"label": ["anger", "happiness", "sadness"], "labeled": [True] * 3})
    pool = pd.DataFrame({"pool": ["emodb"] * 4 + ["ok"], "oracle_label": ["W", "W", "L", "angry", "sad"]})
    lines = pool_label_warnings(ExperimentConfig(), target, pool)
    assert len(lines) == 1 and "'emodb'" in lines[0] and "3 of 4" in lines[0] and "W (2)" in lines[0]
    assert pool_label_warnings(ExperimentConfig(label_map="emodb"), target, pool[pool["oracle_label"] != "L"]) == []


# --- 3. speaker-independent defaults ------------------------------------------------------------

def test_every_commands_default_protocol_is_speaker_independent():
    from semiemo.cli import app

    command = typer.main.get_command(app)
    defaults = {}
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        for param in sub.params:
            if "--protocol" in getattr(param, "opts", ()):
                defaults[name] = param.default
    assert defaults.get("compare") == "loso" and defaults.get("train") == "loso", defaults
    assert all(d not in ("kfold", "holdout") for d in defaults.values()), defaults
    assert ProtocolConfig().name == "loso"


# --- 4. compare's output folder -----------------------------------------------------------------

def _base(**changes) -> ExperimentConfig:
    return ExperimentConfig(name="compare", corpus="casia", features=["is10"], **changes)


def test_compare_output_folders_differ_for_every_setting_that_changes_results():
    from semiemo.commands.compare import default_out_name

    names = {default_out_name(_base(label_fraction=f), ["supervised"], {}) for f in (0.2, 1.0)}
    names.add(default_out_name(_base(label_fraction=0.2), ["supervised", "fixmatch"], {}))
    names.add(default_out_name(_base(label_fraction=0.2), ["supervised"], {"supervised": {"dropout": 0.1}}))
    names.add(default_out_name(_base(label_fraction=0.2, train=TrainConfig(epochs=5)), ["supervised"], {}))
    assert len(names) == 5
    assert "lf0.2" in default_out_name(_base(label_fraction=0.2), ["supervised"], {})


def test_compare_refuses_to_overwrite_a_comparison_unless_told(tmp_path):
    from semiemo.commands.compare import claim_output

    claim_output(tmp_path / "new", overwrite=False)  # nothing there: fine
    (tmp_path / "old" / "runs").mkdir(parents=True)
    (tmp_path / "old" / "comparison.md").write_text("old")
    with pytest.raises(typer.BadParameter, match="--overwrite"):
        claim_output(tmp_path / "old", overwrite=False)
    assert (tmp_path / "old" / "comparison.md").exists()
    claim_output(tmp_path / "old", overwrite=True)
    assert not (tmp_path / "old" / "comparison.md").exists() and not (tmp_path / "old" / "runs").exists()


# --- 5 + 6. featurize: flag reasons, progress lines in logs -------------------------------------

def test_featurize_prints_flag_reasons_and_plain_progress_lines_into_a_log(tmp_path):
    rows = []
    t = np.arange(22050) / 22050
    for i in range(6):
        path = tmp_path / "wav" / f"u{i}.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(path, (0.3 * np.sin(2 * np.pi * (150 + 20 * i) * t)).astype(np.float32), 22050)
        rows.append({"utt_id": f"u{i}", "corpus": "mini", "split_group": f"s{i % 2}", "speaker": f"s{i % 2}",
                     "domain": "acted", "labeled": True, "label": "neutral", "path": str(path)})
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    env = {**os.environ, "SEMIEMO_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "semiemo.cli", "featurize", "--corpus", str(manifest), "--features", "egemaps",
           "--no-progress"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)  # stdout is a pipe, not a TTY
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "flagged=6 (resampled:22050=6)" in proc.stdout
    assert "featurize: rows 6/6 (100.0 %)" in proc.stdout and "done in" in proc.stdout


def test_progress_lines_say_rows_done_rate_and_eta_every_few_seconds():
    from semiemo.features.progress import ProgressLines

    out = io.StringIO()
    with ProgressLines(40, every_s=0.05, stream=out) as progress:
        time.sleep(0.12)
        progress.advance(10)
        time.sleep(0.15)
    lines = out.getvalue().splitlines()
    assert "ETA unknown" in lines[0]
    assert any("rows 10/40 (25.0 %)" in line and "rows/s, ETA " in line for line in lines[1:-1])
    assert "done in" in lines[-1] and len(lines) >= 4


# --- 7. mask rate in compare's summary ----------------------------------------------------------

def _results(with_mask: bool) -> pd.DataFrame:
    rows = []
    for method, mask in (("supervised", np.nan), ("fixmatch", 0.4)):
        for seed in range(3):
            row = {"method": method, "seed": seed, "fold": "f0", "test_ua": 0.5 + 0.01 * seed, "test_wa": 0.5,
                   "test_f1_weighted": 0.5, "test_f1_macro": 0.5, "pseudo_label_accuracy": np.nan}
            if with_mask:
                row["mask_rate_mean"] = mask + 0.01 * seed if method == "fixmatch" else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def test_compare_summary_prints_the_mean_mask_rate_when_runs_report_it():
    from semiemo.analysis.compare import markdown_table, summarize

    table = markdown_table(summarize(_results(True)))
    assert "mask rate" in table.splitlines()[2]
    fixmatch = next(line for line in table.splitlines() if line.startswith("| fixmatch"))
    assert fixmatch.rstrip(" |").endswith("0.410 ± 0.025")
    assert "mask rate" not in markdown_table(summarize(_results(False)))

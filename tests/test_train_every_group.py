"""Every feature group is trainable from the CLI: 4-D avsp with its segment count, token sequences with
their mask, one-hot social columns (issue 9). Real featurization of a small synthetic corpus."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CORPUS = "synthetic:acted=24,wild_labeled=0,unlabeled=0,seed=7"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


def _train(home: Path, features: str, name: str) -> pd.DataFrame:
    env = {**os.environ, "SEMIEMO_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    out = home / name
    cmd = [sys.executable, "-m", "semiemo.cli", "train", "--corpus", CORPUS, "--features", features,
           "--method", "supervised", "--protocol", "kfold", "--folds", "2", "--max-folds", "1",
           "--epochs", "2", "--batch-size", "8", "--out", str(out), "--name", name]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return pd.read_parquet(out / "results.parquet")


def test_avsp_segments_train_with_their_count_as_a_length(home):
    row = _train(home, "avsp", "avsp").iloc[0]
    assert row["epochs_run"] == 2 and 0.0 <= row["test_ua"] <= 1.0


def test_token_sequences_and_one_hot_social_train_together(home):
    row = _train(home, "text_tokens,social", "tokens_social").iloc[0]
    assert row["epochs_run"] == 2 and 0.0 <= row["test_ua"] <= 1.0


def test_masks_and_counts_travel_as_side_fields_not_inputs(home, monkeypatch):
    monkeypatch.setenv("SEMIEMO_HOME", str(home))
    from semiemo.features import load_featureset

    fs = load_featureset(CORPUS, ["text_tokens", "social", "avsp"])
    assert set(fs.groups) == {"text_tokens", "social", "avsp"}   # no `text_tokens.mask`, no `avsp.num_segments`
    assert "text_tokens.mask" in fs.side and fs.side["text_tokens.mask"].dtype == bool
    assert fs.lengths["avsp"].min() >= 1 and fs.channel_axes == {"avsp": -2}
    assert fs.unscaled == frozenset({"social"})


def test_frame_payloads_leave_the_featureset_manifest_once_they_are_groups(home, monkeypatch):
    """Synthetic manifests carry faces and FER frames per row; once featurized they live in `groups`, so
    the FeatureSet's manifest must not hold them again: every trial receives that manifest (for 23k
    utterances' faces the pickled FeatureSet was 0.89 GB with them, 0.57 GB without)."""
    monkeypatch.setenv("SEMIEMO_HOME", str(home))
    from semiemo.corpora import load_manifest
    from semiemo.features import load_featureset

    manifest = load_manifest(CORPUS)
    assert {"face_features", "fer_probs"} <= set(manifest.columns)   # the corpus does carry them
    fs = load_featureset(CORPUS, ["face", "fer"])
    assert not {"face_features", "fer_probs"} & set(fs.manifest.columns)
    first = manifest.set_index("utt_id").loc[fs.manifest["utt_id"].iloc[0], "face_features"]
    n = min(len(first), fs.groups["face"].shape[1])
    assert fs.groups["face"][0, :n] == pytest.approx(np.asarray([list(f) for f in first[:n]], dtype=np.float32))
    assert {"utt_id", "speaker", "labeled", "label"} <= set(fs.manifest.columns)  # the rest of the manifest stays

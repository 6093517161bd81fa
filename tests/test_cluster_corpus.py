"""The `clusters` corpus (the SSL positive control's data): its layout and its measured cluster structure."""

from __future__ import annotations

import numpy as np
import pytest

from semiemo.corpora import load_corpus
from semiemo.corpora.synthetic.clusters import knn_purity, parse_cluster_spec

SPEC = "clusters:classes=6,dims=20,per_class=5,val_per_class=10,unlabeled=3000,test=1200,separation=0.7,seed=0"


@pytest.fixture(scope="module")
def manifest():
    return load_corpus(SPEC)


def test_the_control_has_30_labels_60_validation_rows_1200_test_rows_and_a_3000_row_pool(manifest):
    lab = manifest[manifest["labeled"]]
    assert (lab["split"] == "train").sum() == 30 and (lab["split"] == "dev").sum() == 60
    assert (lab["split"] == "test").sum() == 1200 and (~manifest["labeled"]).sum() == 3000
    assert lab[lab["split"] == "train"]["label"].value_counts().eq(5).all()
    assert 30 / (30 + 3000) <= 0.05


def test_the_pool_has_cluster_structure_as_stated_in_the_calibration(manifest):
    pool = manifest[~manifest["labeled"]]
    purity = knn_purity(np.stack(pool["cluster_features"].to_numpy()), pool["oracle_label"].to_numpy())
    assert 0.72 <= purity <= 0.80          # CALIBRATION.md: 0.762 at separation 0.7 (chance 1/6)


def test_labels_are_scarce_enough_to_leave_a_gap_for_unlabeled_data(manifest):
    from sklearn.linear_model import LogisticRegression

    x = np.stack(manifest["cluster_features"].to_numpy())
    y = manifest["oracle_label"].to_numpy()
    train = (manifest["split"] == "train").to_numpy() & manifest["labeled"].to_numpy()
    test = (manifest["split"] == "test").to_numpy()
    pool = ~manifest["labeled"].to_numpy()
    few = LogisticRegression(max_iter=2000).fit(x[train], y[train]).score(x[test], y[test])
    many = LogisticRegression(max_iter=2000).fit(x[pool], y[pool]).score(x[test], y[test])
    assert many - few >= 0.05              # CALIBRATION.md: 0.820 on 30 labels vs 0.914 on the pool's labels


def test_a_misspelled_option_names_the_allowed_ones():
    with pytest.raises(ValueError, match="separation"):
        parse_cluster_spec("classez=6")


@pytest.mark.parametrize("option, named", [("dims=abc", "dims='abc': expected an integer"),
                                           ("dims=0", "dims=0: expected ≥ 1"),
                                           ("separation=far", "separation='far': expected a number"),
                                           ("unlabeled=-5", "unlabeled=-5: expected ≥ 0")])
def test_a_bad_option_value_names_the_option_its_value_and_what_is_expected(option, named):
    with pytest.raises(ValueError, match="clusters corpus option " + named.replace("(", r"\(")) as e:
        parse_cluster_spec(option)
    assert "\n" not in str(e.value) and "e.g. clusters:" in str(e.value)


def test_a_corpus_of_another_width_than_the_featurizer_is_refused_before_any_work_naming_both_and_the_fix():
    from semiemo.features.clusters import ClusterFeatures
    from semiemo.features.pipeline import featurize

    narrow = load_corpus("clusters:dims=8,unlabeled=12,test=12")
    with pytest.raises(ValueError) as e:
        featurize(narrow, [ClusterFeatures()], store_root="/nonexistent/never-created")  # refused before the store
    message = str(e.value)
    assert "\n" not in message and "has 8 values" in message and "dims=20" in message
    assert "--corpus clusters:dims=20" in message


def test_one_row_of_another_width_is_that_rows_error_not_the_corpus():
    from semiemo.features.clusters import ClusterFeatures

    manifest = load_corpus("clusters:unlabeled=12,test=12")
    manifest.at[3, "cluster_features"] = [0.0] * 8
    ClusterFeatures().check_manifest(manifest)     # most rows fit: the pipeline makes row 3 an error row
    with pytest.raises(ValueError, match=f"utt_id '{manifest.at[3, 'utt_id']}' has 8 values.*dims=20"):
        ClusterFeatures()({"utt_id": manifest["utt_id"].to_numpy()[3:4], "cluster_features": manifest["cluster_features"].to_numpy()[3:4]})


def test_the_cli_ends_a_width_mismatch_in_one_line_before_starting_ray(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SEMIEMO_HOME": str(tmp_path / "home"), "RAY_ADDRESS": ""}
    done = subprocess.run([sys.executable, "-m", "semiemo.cli", "train", "--corpus", "clusters:dims=8,unlabeled=12,test=12",
                           "--features", "clusters", "--method", "supervised", "--epochs", "1"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    first, *rest = done.stderr.strip().splitlines()
    assert first.startswith("semiemo: error: clusters: every row's cluster_features has 8 values")
    assert rest == ["(set SEMIEMO_DEBUG=1 for the traceback)"] and "Traceback" not in done.stderr
    assert not (tmp_path / "home" / "features").exists()    # nothing featurized, no store entry started

"""`load_corpus(spec)`: one string names any corpus; mistakes name what is allowed."""

from __future__ import annotations

import pytest

from semiemo.corpora import load_corpus, parse_label_map, write_manifest
from semiemo.paths import casia_root


def test_synthetic_spec_sizes_use_the_short_keys():
    df = load_corpus("synthetic:acted=6,wild_labeled=4,unlabeled=5,seed=1")
    assert len(df) == 15
    assert (df["domain"] == "acted").sum() == 6
    assert (~df["labeled"]).sum() == 5


def test_synthetic_spec_misspelled_key_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown synthetic option\(s\) \['actd'\]; allowed: .*n_acted"):
        load_corpus("synthetic:actd=6")


def test_manifest_file_and_folder_specs(tmp_path):
    df = load_corpus("synthetic:acted=3,wild_labeled=0,unlabeled=0")
    write_manifest(df, tmp_path / "manifest.parquet")
    assert load_corpus(str(tmp_path))["utt_id"].tolist() == df["utt_id"].tolist()
    assert len(load_corpus(str(tmp_path / "manifest.parquet"))) == 3


def test_folder_without_manifest_points_to_the_dir_spec(tmp_path):
    with pytest.raises(FileNotFoundError, match="dir:"):
        load_corpus(str(tmp_path))


def test_unknown_spec_lists_the_kinds():
    with pytest.raises(ValueError, match="synthetic, clusters, casia, iemocap"):
        load_corpus("no_such_corpus_anywhere")


def test_path_kinds_need_a_path():
    with pytest.raises(ValueError, match="iemocap:/path"):
        load_corpus("iemocap")


def test_label_map_parsing():
    assert parse_label_map("W:anger;F:happiness") == {"W": "anger", "F": "happiness"}
    with pytest.raises(ValueError, match="code:label"):
        parse_label_map("W=anger")


@pytest.mark.skipif(not casia_root().exists(), reason=f"CASIA not found at {casia_root()}")
def test_casia_spec():
    assert len(load_corpus("casia")) == 1200

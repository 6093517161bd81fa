"""A FeatureSet snapshot reads back without the featurizing stack, and a paper-cost estimate runs from it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from semiemo.features.featureset import FeatureSet
from semiemo.features.snapshot import load_snapshot, save_snapshot


def _featureset(n: int = 12) -> FeatureSet:
    rng = np.random.default_rng(0)
    manifest = pd.DataFrame({"utt_id": [f"u{i}" for i in range(n)], "speaker": [f"s{i % 3}" for i in range(n)],
                             "labeled": [i % 4 != 0 for i in range(n)], "label": ["a", "b"] * (n // 2),
                             "votes": [["a", "b"]] * n, "audio": [rng.normal(size=50).astype(np.float32)] * n})
    return FeatureSet(manifest=manifest, groups={"x": rng.normal(size=(n, 5, 3)).astype(np.float32)},
                      lengths={"x": np.full(n, 5, dtype=np.int32)}, side={"x.mask": np.ones((n, 5), dtype=bool)},
                      pad_sides={"x": "start"}, channel_axes={"x": -2}, unscaled=frozenset({"x"}), dropped={"x:bad": 2})


def test_a_subset_snapshot_reads_back_with_the_full_manifest_beside_it(tmp_path: Path):
    fs = _featureset()
    rows = np.array([7, 1, 4])
    save_snapshot(fs, tmp_path / "snap", rows=rows, half=True)
    back, full = load_snapshot(tmp_path / "snap")
    assert len(full) == 12 and "audio" not in full.columns          # per-row numeric arrays are left out
    assert list(full["votes"].iloc[0]) == ["a", "b"]                 # lists of strings stay lists
    assert back.manifest["utt_id"].tolist() == ["u1", "u4", "u7"]
    assert back.groups["x"].dtype == np.float32                      # stored as float16, read as float32
    np.testing.assert_allclose(back.groups["x"], fs.groups["x"][[1, 4, 7]], atol=1e-2)
    assert back.side["x.mask"].dtype == bool and back.lengths["x"].tolist() == [5, 5, 5]
    assert back.pad_sides == {"x": "start"} and back.channel_axes == {"x": -2} and back.unscaled == {"x"}
    assert back.dropped == {"x:bad": 2}
    assert json.loads((tmp_path / "snap" / "meta.json").read_text())["half"] == ["groups:x"]


def test_a_folder_that_is_not_a_snapshot_says_how_to_write_one(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="--snapshot-out"):
        load_snapshot(tmp_path)


def test_the_paper_estimate_counts_mmmd_mixed_pass_over_the_pool_and_resumes(tmp_path: Path):
    """mmmd's epoch is three phases; its mixed pass runs over the 500k pool (⌈500000 / B⌉ steps)."""
    import math

    from semiemo.analysis.paper_cost import Cost, _measured_before, grid_points, steps_per_epoch, warmup_epochs, write_estimate
    from semiemo.tune.space import experiment_config, load_spec

    root = Path(__file__).resolve().parents[1] / "search_spaces"
    paper = load_spec(root / "mmmd_temperature.yaml", budget="paper")
    cfg = experiment_config(paper, grid_points(paper)[0], seed=0)
    assert steps_per_epoch(cfg, None, folds=5) >= math.ceil(500_000 / cfg.train.batch_size)
    table1 = load_spec(root / "mmmd_table1.yaml", budget="paper")
    sae = experiment_config(table1, {"method": "sae"}, seed=0)
    assert warmup_epochs(sae) == sae.method_params.get("pretrain_epochs", 10) > 0
    write_estimate(tmp_path / "estimate.md", [Cost("a", 1, 1, 10, 0.5, 0.01), Cost("b", 1, 1, 10, 0.5, 0.01, "x: not measured (E)")])
    kept = _measured_before(tmp_path / "estimate.json")
    assert set(kept) == {"a"}                 # a partly measured analysis is measured again on resume

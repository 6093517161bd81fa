"""`semiemo scale` and its pieces: growth fits, the melstats featurizer, and a small study end to end (32 and 128
rows in 32-row blocks: the same code path as the 500k benchmark — rendered on Ray workers, stored block by block,
streamed into training — at a size that keeps `make test` short)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semiemo.scale.fit import fit_linear, project, steady_rate, worker_scaling


def test_linear_fit_recovers_the_fixed_cost_and_the_per_row_cost():
    rows = [1000, 4000, 16000]
    fit = fit_linear(rows, [5.0 + 0.01 * r for r in rows])
    assert fit.fixed_s == pytest.approx(5.0) and fit.per_row_s == pytest.approx(0.01)
    assert fit.marginal_rows_per_s == pytest.approx(100.0) and fit.bends_at == ()
    assert 0.5 < fit.loglog_exponent < 1.0  # the fixed 5 s still weighs at 1,000 rows


def test_a_slope_that_changes_between_sizes_is_reported_as_a_bend():
    fit = fit_linear([1000, 2000, 4000, 8000], [10.0, 20.0, 30.0, 80.0])  # cheaper, then much dearer per row
    assert 4000 in fit.bends_at


def test_a_single_size_cannot_be_fitted():
    with pytest.raises(ValueError, match="two different row counts"):
        fit_linear([1000, 1000], [1.0, 1.1])


def test_steady_rate_ignores_start_up_and_the_tail():
    t = [0, 1, 2, 3, 4, 5, 6, 7]
    rows = [0, 0, 0, 100, 200, 300, 300, 300]  # 3 s of start-up, 100 rows/s, then a tail
    assert steady_rate(t, rows) == pytest.approx(100.0)


def test_worker_scaling_and_the_projection_use_the_measured_efficiency():
    ws = worker_scaling([2, 1], [180.0, 100.0])
    assert ws.workers == (1, 2) and ws.speedup == pytest.approx((1.0, 1.8)) and ws.efficiency[-1] == pytest.approx(0.9)
    p = project(rows=90_000, nodes=1, cpus_per_node=10, per_worker_rows_per_s=100.0, efficiency=0.9, fixed_s=10.0)
    assert p.featurize_s == pytest.approx(10.0 + 90_000 / 900.0)


def test_melstats_are_the_mean_and_std_of_the_40_band_fbank_frames():
    from semiemo.features.registry import make_featurizer

    t = np.arange(16_000 * 2) / 16_000
    audio = (0.1 * np.sin(2 * np.pi * 220 * t) + 0.01 * np.random.default_rng(0).normal(size=t.shape)).astype(np.float32)
    stats = make_featurizer("melstats")({"utt_id": ["a"], "audio": [audio]})["melstats"][0]
    fb = make_featurizer("fbank", n_mels=40, max_frames=1000)({"utt_id": ["a"], "audio": [audio]})
    frames = fb["fbank"][0, : fb["length"][0]]
    assert stats.shape == (80,)
    np.testing.assert_allclose(stats[:40], frames.mean(axis=0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(stats[40:], frames.std(axis=0), rtol=1e-3, atol=1e-3)


def test_scale_study_measures_fits_and_reports_on_two_small_pools(tmp_path):
    from semiemo.scale.study import StudyConfig, run_study

    cfg = StudyConfig(rows=[32, 128], workers=[1, 2], cpus=2, nodes=2, train_steps=5, rate_rows=16, block_size=32,
                      target_rows=500_000, target_nodes=4, target_cpus_per_node=8, out_dir=str(tmp_path))
    results = run_study(cfg)
    feat = [r for r in results["records"] if r["kind"] == "featurize"]
    assert {(r["rows"], r["workers"], r["nodes"]) for r in feat} == {(32, 1, 1), (32, 2, 1), (128, 1, 1),
                                                                       (128, 2, 1), (128, 2, 2)}
    for r in feat:  # a fresh store each time: every block computed, every row stored
        assert r["blocks_computed"] == r["blocks_total"] == -(-r["rows"] // 32) and r["errors"] == 0
        assert r["rows_per_s"] > 0 and r["driver_peak_mb"] > 0
    assert max(r["worker_peak_mb"] for r in feat) > 0  # Ray workers were found and sampled (a one-block run may end between samples)
    train = [r for r in results["records"] if r["kind"] == "train"]
    assert [r["rows"] for r in train] == [32, 128] and all(r["streamed"] and r["steps"] == 5 for r in train)
    for n in (32, 128):  # training streamed the pool the study featurized, not a second copy under another key
        entries = sorted(p.parent.name for p in (tmp_path / "stores" / f"r{n}-w2-n1").glob("*/melstats-*"))
        assert len(entries) == 2, entries  # the pool and the labeled target
    assert results["fits"]["featurize"]["1"]["per_row_s"] > 0
    assert results["fits"]["nodes"]["nodes"] == 2
    p = results["projection"]
    assert p["rows"] == 500_000 and p["nodes"] == 4 and p["featurize_s"] > 500_000 / (32 * p["per_worker_rows_per_s"])
    report = (tmp_path / "report.md").read_text()
    assert "PROJECTION (not measured)" in report and "2-node local cluster" in report
    for png in ("throughput_vs_workers.png", "wall_vs_rows.png", "rss_vs_rows.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "results.json").read_text())["config"]["rows"] == [32, 128]

"""`semiemo compare`'s analysis: identical data for every method, paired deltas, table and chart."""

from __future__ import annotations

import pandas as pd
import pytest

from gaussian_featureset import gaussian_featureset
from semiemo.analysis.compare import markdown_table, method_configs, run_comparison, summarize, write_report
from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig


def fake_results() -> pd.DataFrame:
    rows = []
    for seed in range(3):
        for method, ua in (("supervised", 0.50), ("fixmatch", 0.55)):
            rows.append({"method": method, "seed": seed, "fold": "f0", "test_ua": ua + 0.01 * seed,
                         "test_wa": ua, "test_f1_weighted": ua, "test_f1_macro": ua,
                         "pseudo_label_accuracy": float("nan") if method == "supervised" else 0.8})
    return pd.DataFrame(rows)


def test_method_configs_change_only_the_method():
    base = ExperimentConfig(name="cmp", seeds=[0, 1, 2], label_fraction=0.1, output_dir="/tmp/cmp")
    configs = method_configs(base, ["supervised", "fixmatch"], {"fixmatch": {"threshold": 0.95}})
    for cfg in configs:
        same = {k: v for k, v in cfg.model_dump().items() if k not in ("method", "method_params", "name", "output_dir")}
        assert same == {k: v for k, v in base.model_dump().items() if k in same}
    assert configs[1].method_params == {"fixmatch": {"threshold": 0.95}}["fixmatch"]


def test_method_configs_reject_params_for_a_method_not_compared():
    with pytest.raises(ValueError, match="mixmatch"):
        method_configs(ExperimentConfig(), ["supervised"], {"mixmatch": {"temperature": 0.5}})


def test_summary_reports_paired_difference_to_supervised():
    summary = summarize(fake_results()).set_index("method")
    assert summary.loc["fixmatch", "delta_ua"] == pytest.approx(0.05)
    assert summary.loc["fixmatch", "delta_ua_ci"] == pytest.approx(0.0, abs=1e-9)  # same offset every seed
    assert summary.loc["supervised", "ua"] == pytest.approx(0.51)
    assert summary.loc["fixmatch", "pseudo_label_accuracy"] == pytest.approx(0.8)


def test_markdown_table_shows_mean_and_ci_per_metric():
    table = markdown_table(summarize(fake_results()))
    assert "| fixmatch | 3 × 1 | 0.560 ± " in table and "+0.050 ± " in table
    assert "mean ± 95 % CI (Student t) over n=3 seeds (each seed: the mean of its folds)" in table


def test_ci_is_taken_over_seeds_not_over_seeds_times_folds():
    rows = [{"method": "supervised", "seed": seed, "fold": fold, "test_ua": 0.3 + 0.4 * fold + 0.01 * seed,
             "test_wa": 0.5, "test_f1_weighted": 0.5, "test_f1_macro": 0.5}
            for seed in range(3) for fold in range(2)]
    summary = summarize(pd.DataFrame(rows)).iloc[0]
    assert summary["ua_n"] == 3 and summary["seeds"] == 3 and summary["folds"] == 2
    # seed means 0.50, 0.51, 0.52: t(2) · sd/√3 — the fold-to-fold 0.4 does not enter
    assert summary["ua_ci"] == pytest.approx(4.302653 * 0.01 / 3 ** 0.5, rel=1e-5)


def test_two_runs_of_one_seed_print_a_range_over_folds_not_a_ci():
    rows = [{"method": m, "seed": 0, "fold": f"f{k}", "test_ua": ua + 0.1 * k, "test_wa": ua, "test_f1_weighted": ua,
             "test_f1_macro": ua} for m, ua in (("supervised", 0.5), ("fixmatch", 0.55)) for k in range(2)]
    table = markdown_table(summarize(pd.DataFrame(rows)))
    assert "±" not in table.split("\n", 1)[1]
    assert "n=1 seed: mean [range over its 2 folds]" in table
    assert "| fixmatch | 1 × 2 | 0.600 [0.550, 0.650] |" in table


def test_comparison_runs_every_method_on_the_same_labeled_subsets(tmp_path):
    data = gaussian_featureset(n_per_class_speaker=10, speakers=4, dim=8, unlabeled=80)
    base = ExperimentConfig(name="cmp", corpus="gauss", features=["egemaps"], label_fraction=0.5, seeds=[0, 1],
                            protocol=ProtocolConfig(name="kfold", folds=4, max_folds=1), output_dir=str(tmp_path),
                            model_hidden=(16,), train=TrainConfig(epochs=2, batch_size=8, steps_per_epoch=3))
    results = run_comparison(base, ["supervised", "fixmatch"], data=data)
    by_method = {m: rows.sort_values("seed")[["seed", "fold", "n_train", "n_test"]].to_numpy().tolist()
                 for m, rows in results.groupby("method")}
    assert by_method["supervised"] == by_method["fixmatch"]
    paths = write_report(results, tmp_path / "report")
    assert paths["chart"].stat().st_size > 0 and "Δ UA vs supervised" in paths["markdown"].read_text()

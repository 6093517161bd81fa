"""Paper 003's analyses: tables of methods as `arms`, confusion panels, and the cmkt YAMLs load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from semiemo.analysis.confusion_panels import plot_confusion_panels, pooled_confusions, row_normalise
from semiemo.analysis.reproduce import search_spaces_dir
from semiemo.tune.space import SpecError, experiment_config, load_spec, spec_from_dict

ARMS = {
    "supervised": {"method": "supervised"},
    "cr": {"method": "cmkt", "features": ["egemaps_lld", "fer"], "method_params": {"fusion": "ff1", "epsilon": 0.5}},
}


def _spec(**extra):
    raw = {"name": "t", "experiment": {"method": "supervised", "features": ["egemaps_lld"]}, "arms": ARMS,
           "parameters": {"arm": {"grid": ["supervised", "cr"], "scale": "category"}}, **extra}
    return spec_from_dict(raw)


def test_an_arm_sets_method_features_and_hyperparameters_of_its_trial():
    spec = _spec()
    cr = experiment_config(spec, {"arm": "cr"}, seed=1)
    assert (cr.method, cr.features, cr.method_params, cr.seeds) == ("cmkt", ["egemaps_lld", "fer"],
                                                                   {"fusion": "ff1", "epsilon": 0.5}, [1])
    sup = experiment_config(spec, {"arm": "supervised"}, seed=1)
    assert (sup.method, sup.features, sup.method_params) == ("supervised", ["egemaps_lld"], {})


def test_an_arm_missing_from_arms_or_with_a_bad_hyperparameter_is_an_error():
    with pytest.raises(SpecError, match="not in `arms`"):
        spec_from_dict({"name": "t", "experiment": {}, "arms": ARMS, "parameters": {"arm": {"grid": ["nope"]}}})
    bad = {**ARMS, "cr": {"method": "cmkt", "method_params": {"epsilonn": 0.5}}}
    with pytest.raises(SpecError, match="epsilonn"):
        spec_from_dict({"name": "t", "experiment": {}, "arms": bad, "parameters": {"arm": {"grid": ["cr"]}}})


def test_confusion_panels_pool_seeds_and_normalise_rows(tmp_path):
    spec = _spec(plot={"kind": "confusion", "metric": "test_ua"})
    rows = [{"arm": "cr", "seed": s, "test_confusion": json.dumps([[3, 1], [0, 4]]), "test_f1_a": 0.5, "test_f1_b": 0.5}
            for s in (0, 1)]
    rows.append({"arm": "supervised", "seed": 0, "test_confusion": json.dumps([[4, 0], [4, 0]]),
                 "test_f1_a": 0.6, "test_f1_b": 0.0})
    table = pd.DataFrame(rows)
    mats = pooled_confusions(table, "arm")
    assert mats["cr"].tolist() == [[6, 2], [0, 8]]
    assert row_normalise(mats["cr"]).tolist() == [[0.75, 0.25], [0.0, 1.0]]
    figure, shares = plot_confusion_panels(table, spec, tmp_path / "figure.png")
    assert figure.is_file() and (tmp_path / "confusion_cr.png").is_file()
    assert shares["supervised"] == 1.0 and shares["cr"] == pytest.approx(10 / 16)


@pytest.mark.parametrize("name", ["cmkt_table3", "cmkt_table4", "cmkt_fig3", "cmkt_epsilon", "cmkt_alpha", "cmkt_table5"])
def test_cmkt_analysis_files_load_full_and_quick(name):
    for quick in (False, True):
        spec = load_spec(search_spaces_dir() / f"{name}.yaml", quick=quick)
        assert spec.base_config().train.optimizer == "adamax"
        assert spec.base_config().model_backbone == "transformer"

"""Search-space YAML files: every shipped file loads; mistakes get errors naming file, key and allowed values;
the translation to a Ray Tune space and to each trial's ExperimentConfig."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from semiemo.tune.space import SpecError, experiment_config, load_spec, to_param_space, trial_budget

SPACES = Path(__file__).resolve().parent.parent / "search_spaces"
GOOD = {
    "name": "t",
    "experiment": {"method": "mixmatch", "train": {"epochs": 3}},
    "parameters": {"method_params.unsup_weight": {"grid": [0, 0.01, 1], "scale": "symlog"}},
    "seeds": [0, 1],
}


def write(tmp_path: Path, changes: dict) -> Path:
    d = {**GOOD, **changes}
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(d))
    return path


@pytest.mark.parametrize("path", sorted(SPACES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_search_space_loads_with_its_quick_and_casia_variants(path):
    for corpus, quick in [(None, False), (None, True), ("casia", False)]:
        spec = load_spec(path, corpus=corpus, quick=quick)
        assert trial_budget(spec) >= 1


def test_misspelled_distribution_names_file_key_and_allowed(tmp_path):
    path = write(tmp_path, {"parameters": {"method_params.unsup_weight": {"logunifrom": [0.001, 1]}}})
    with pytest.raises(SpecError) as e:
        load_spec(path)
    msg = str(e.value)
    assert str(path) in msg and "method_params.unsup_weight" in msg and "'logunifrom'" in msg
    assert "loguniform" in msg and "grid" in msg and "choice" in msg


def test_unknown_top_level_key_lists_the_allowed_keys(tmp_path):
    with pytest.raises(SpecError, match=r"space\.yaml.*\n.*metrc: unknown key 'metrc'; allowed: .*'metric'"):
        load_spec(write(tmp_path, {"metrc": "val_ua"}))


def test_unknown_scheduler_kind_names_the_allowed_kinds(tmp_path):
    with pytest.raises(SpecError, match=r"scheduler\.kind: Input should be 'fifo' or 'asha'"):
        load_spec(write(tmp_path, {"scheduler": {"kind": "hyperband"}}))


def test_unknown_method_hyperparameter_lists_the_methods_fields(tmp_path):
    with pytest.raises(SpecError, match=r"parameters\.method_params\.lambda_u: .*allowed: .*'temperature'.*'unsup_weight'"):
        load_spec(write(tmp_path, {"parameters": {"method_params.lambda_u": {"grid": [0, 1]}}}))


def test_unknown_config_path_lists_the_allowed_paths(tmp_path):
    with pytest.raises(SpecError, match=r"parameters\.train\.lrr: .*allowed under train\.: .*'lr'"):
        load_spec(write(tmp_path, {"parameters": {"train.lrr": {"grid": [0.1]}}}))


def test_grid_value_outside_a_config_literal_is_rejected_with_the_allowed_values(tmp_path):
    with pytest.raises(SpecError, match=r"normalization: value 'zscore' .*'none', 'self', 'shift' or 'combine'"):
        load_spec(write(tmp_path, {"parameters": {"normalization": {"grid": ["none", "zscore"]}}}))


def test_mixing_grid_and_sampled_parameters_is_an_error(tmp_path):
    changes = {"parameters": {"method_params.unsup_weight": {"grid": [0, 1]}, "train.lr": {"loguniform": [1e-4, 1e-2]}}}
    with pytest.raises(SpecError, match="mix grid"):
        load_spec(write(tmp_path, changes))


def test_loguniform_cannot_include_zero(tmp_path):
    with pytest.raises(SpecError, match="loguniform needs low > 0"):
        load_spec(write(tmp_path, {"parameters": {"train.lr": {"loguniform": [0, 1]}}}))


def test_grid_space_sweeps_seeds_as_a_grid_dimension(tmp_path):
    spec = load_spec(write(tmp_path, {}))
    space = to_param_space(spec)
    assert space["method_params.unsup_weight"] == {"grid_search": [0, 0.01, 1]}
    assert space["seed"] == {"grid_search": [0, 1]}
    assert spec.search_kind == "grid" and trial_budget(spec) == 6


def test_sampled_space_becomes_tune_domains_without_a_seed_dimension(tmp_path):
    from ray.tune.search.sample import Float, Integer

    spec = load_spec(write(tmp_path, {"parameters": {"train.lr": {"loguniform": [1e-4, 1e-2]},
                                                     "train.epochs": {"int": [2, 5]}}, "num_samples": 7}))
    space = to_param_space(spec)
    assert isinstance(space["train.lr"], Float) and isinstance(space["train.epochs"], Integer)
    assert (space["train.epochs"].lower, space["train.epochs"].upper) == (2, 6)   # int is inclusive
    assert "seed" not in space and spec.search_kind == "optuna" and trial_budget(spec) == 7


def test_trial_config_sets_each_parameter_at_its_path(tmp_path):
    spec = load_spec(write(tmp_path, {}))
    cfg = experiment_config(spec, {"method_params.unsup_weight": 0.01, "train.lr": 0.003, "label_fraction": 0.5}, seed=1)
    assert cfg.method_params == {"unsup_weight": 0.01}
    assert cfg.train.lr == 0.003 and cfg.train.epochs == 3
    assert cfg.label_fraction == 0.5 and cfg.seeds == [1]


def test_whole_pool_grid_value_means_no_unlabeled_limit():
    spec = load_spec(SPACES / "unlabeled_quantity.yaml")
    assert experiment_config(spec, {"unlabeled_quantity": "all"}, seed=0).unlabeled_quantity is None
    assert experiment_config(spec, {"unlabeled_quantity": 500}, seed=0).unlabeled_quantity == 500


def test_casia_variant_renames_the_sweep_and_sets_the_corpus():
    spec = load_spec(SPACES / "mmmd_lambda_u.yaml", corpus="casia")
    assert spec.name == "mmmd_lambda_u__casia"
    assert spec.base_config().corpus == "casia" and spec.base_config().protocol.name == "loso"

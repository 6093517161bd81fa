"""A sweep's paper-004 front-ends are pre-trained in parallel Ray tasks before its trials, once per key."""

from __future__ import annotations

import os

import pytest

from semiemo.features.pipeline import FeaturesNotStored
from semiemo.recipes.avspnet_pretrain import PretrainConfig, recipe_config, train_recipe
from semiemo.train.pretrained import PretrainedStore

WILD = "synthetic:acted=0,wild_labeled=0,unlabeled=20,seed=4,wild_speakers=2"
TINY = {"pretrain_corpus": WILD, "pretrain_epochs": 2, "channels": 4, "pool_size": 4, "hidden": [16, 8]}


@pytest.fixture(scope="module")
def ray_home(tmp_path_factory):
    """A real local Ray (2 CPUs) whose workers share this module's fresh SEMIEMO_HOME (store included)."""
    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray

    home = tmp_path_factory.mktemp("home")
    saved = {k: os.environ.get(k) for k in ("SEMIEMO_HOME", "SEMIEMO_FEATURE_STORE", "SEMIEMO_STORAGE")}
    os.environ["SEMIEMO_HOME"] = str(home)
    os.environ.pop("SEMIEMO_FEATURE_STORE", None)
    os.environ.pop("SEMIEMO_STORAGE", None)
    init_ray(num_cpus=2)
    yield home
    shutdown_ray()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _spec():
    from semiemo.tune.space import SearchSpace

    return SearchSpace.model_validate({
        "name": "t_pretrain", "seeds": [0], "resources_per_trial": {"cpu": 1},
        "experiment": {"corpus": "synthetic:acted=12,wild_labeled=0,unlabeled=0,seed=0", "features": ["avsp"],
                       "method": "avspnet", "method_params": TINY},
        "parameters": {"method_params.frontend": {"grid": ["R", "W_a", "AE"], "scale": "category"},
                       # -1: the trial's seed (0); 0 named outright: another request, the same recipe key
                       "method_params.pretrain_seed": {"grid": [-1, 0]}}})


def test_sweep_front_ends_are_trained_once_per_key_in_ray_tasks_and_found_on_a_second_call(ray_home):
    from semiemo.tune.runner import _prepare_on_driver

    records = _prepare_on_driver(_spec(), address=None)
    # R asks for nothing; W_a and AE are each asked twice (pretrain_seed -1 and 0) under one key: two tasks
    assert sorted((r["recipe"], r["seed"]) for r in records) == [("AE", 0), ("W_a", 0)]
    assert len({r["key"] for r in records}) == 2 and all(r["trained"] for r in records)
    assert all(r["pid"] not in (None, os.getpid()) for r in records)   # in Ray workers, not on the driver
    store = PretrainedStore()
    assert all(store.exists(r["key"]) and store.load(r["key"])["spec"]["recipe"] == r["recipe"] for r in records)

    again = _prepare_on_driver(_spec(), address=None)
    assert sorted(r["key"] for r in again) == sorted(r["key"] for r in records)
    assert not any(r["trained"] for r in again) and all(r["pid"] is None for r in again)


def test_a_task_refuses_to_featurize_a_corpus_the_driver_did_not(tmp_path, monkeypatch):
    """Inside a task holding a CPU, Ray Data would wait for CPUs: the recipe raises, naming the fix."""
    monkeypatch.setenv("SEMIEMO_FEATURE_STORE", str(tmp_path / "empty"))
    cfg = recipe_config({"frontend": "W_a", "corpus": WILD, "epochs": 2, "alpha": 0.5, "pool_size": 4, "channels": 4})
    assert isinstance(cfg, PretrainConfig)
    with pytest.raises(FeaturesNotStored, match=r"missing blocks avsp=1, prosody=1 .*featurize them first"):
        train_recipe(cfg, stored_only=True)

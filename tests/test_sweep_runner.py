"""A tiny real sweep on a local Ray: Optuna's SQLite study holds every trial, TensorBoard holds the
HParams, the results table holds every (trial, seed, fold), and an interrupted sweep resumes without
losing or repeating finished trials. Trials run the real `run_experiment` on a small Gaussian FeatureSet."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest

from gaussian_featureset import gaussian_featureset
from semiemo.tune.runner import optuna_url, run_sweep, sweep_dir
from semiemo.tune.space import Premise, spec_from_dict

TESTS = Path(__file__).resolve().parent


def grid_spec(name: str, epochs: int = 2, points=(0.0, 0.3)) -> dict:
    return {
        "name": name,
        "experiment": {"corpus": "gauss", "features": ["egemaps"], "method": "mixmatch", "model_hidden": [16],
                       "protocol": {"name": "speaker_kfold", "folds": 2, "max_folds": 1},
                       "train": {"epochs": epochs, "batch_size": 16}},
        "parameters": {"method_params.unsup_weight": {"grid": list(points), "scale": "symlog"}},
        "seeds": [0, 1],
        "resources_per_trial": {"cpu": 0.5},
    }


@pytest.fixture(scope="module")
def data():
    return gaussian_featureset(n_per_class_speaker=5, speakers=4, dim=8, unlabeled=40)


@pytest.fixture(scope="module")
def grid_sweep(ray_local, data, tmp_path_factory):
    spec = spec_from_dict(grid_spec("t_grid"))
    store = tmp_path_factory.mktemp("sweeps")
    table = run_sweep(spec, storage_dir=store, data=data, verbose=0)
    return spec, store, table


def test_grid_sweep_table_has_every_trial_seed_and_test_metric(grid_sweep):
    spec, store, table = grid_sweep
    assert table["trial_id"].nunique() == 4                      # 2 points x 2 seeds
    assert set(table["status"]) == {"TERMINATED"}
    assert sorted(table.groupby("method_params.unsup_weight")["seed"].apply(sorted).tolist()) == [[0, 1], [0, 1]]
    assert table["test_ua"].between(0, 1).all()
    on_disk = pd.read_parquet(sweep_dir(spec, store) / "results.parquet")
    assert len(on_disk) == len(table) and (sweep_dir(spec, store) / "results.csv").is_file()


def test_grid_sweep_sqlite_study_holds_every_finished_trial(grid_sweep):
    spec, store, table = grid_sweep
    assert optuna_url(spec, store).startswith("sqlite:///")
    study = optuna.load_study(study_name=spec.name, storage=optuna_url(spec, store))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert {t.user_attrs["tune_trial_id"] for t in done} == set(table["trial_id"])
    assert {(t.params["method_params.unsup_weight"], t.params["seed"]) for t in done} == {
        (w, s) for w in (0.0, 0.3) for s in (0, 1)}
    by_id = table.groupby("trial_id")["objective"].first()
    assert all(t.value == pytest.approx(by_id[t.user_attrs["tune_trial_id"]]) for t in done)


def _hparams_runs(logdir: Path) -> dict[str, set[str]]:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    runs: dict[str, set[str]] = {}
    for f in logdir.rglob("events.out.tfevents.*"):
        for ev in EventFileLoader(str(f)).Load():
            for v in ev.summary.value:
                runs.setdefault(f.parent.name, set()).add(
                    "hparams" if v.metadata.plugin_data.plugin_name == "hparams" else v.tag)
    return runs


def test_grid_sweep_tensorboard_has_curves_and_hparams_per_trial(grid_sweep):
    spec, store, _ = grid_sweep
    runs = _hparams_runs(sweep_dir(spec, store) / "tensorboard")
    assert len(runs) == 4
    for tags in runs.values():
        assert "hparams" in tags and "val_ua" in tags and "hparam/val_ua" in tags


def test_optuna_sweep_with_asha_records_every_trial_in_sqlite(ray_local, data, tmp_path):
    d = grid_spec("t_tpe", epochs=3)
    d["parameters"] = {"method_params.unsup_weight": {"loguniform": [0.001, 1.0]},
                       "train.lr": {"loguniform": [0.0005, 0.01]}}
    d.update(num_samples=4, seeds=[0], max_concurrent_trials=2,
             scheduler={"kind": "asha", "grace_period": 1, "reduction_factor": 2})
    spec = spec_from_dict(d)
    table = run_sweep(spec, storage_dir=tmp_path, data=data, verbose=0)
    assert table["trial_id"].nunique() == 4
    study = optuna.load_study(study_name=spec.name, storage=optuna_url(spec, tmp_path))
    assert len(study.trials) == 4
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert all(set(t.params) == {"method_params.unsup_weight", "train.lr"} for t in study.trials)
    assert all(t.intermediate_values for t in study.trials)   # per-epoch values reached Optuna


_DRIVER = """
import sys
sys.path.insert(0, {tests!r})
from gaussian_featureset import gaussian_featureset
from semiemo.jobs.ray_runtime import init_ray
from semiemo.tune.runner import run_sweep
from semiemo.tune.space import spec_from_dict
init_ray(num_cpus=2)
spec = spec_from_dict({spec!r})
run_sweep(spec, storage_dir={store!r}, data=gaussian_featureset(n_per_class_speaker=5, speakers=4, dim=8, unlabeled=40), verbose=0)
"""


def test_interrupted_sweep_resumes_without_losing_or_repeating_finished_trials(ray_local, data, tmp_path):
    d = grid_spec("t_resume", epochs=60, points=(0.0, 0.1, 0.3))  # trials of seconds: the poll below catches the sweep mid-way
    d["max_concurrent_trials"] = 1
    spec = spec_from_dict(d)
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(_DRIVER.format(tests=str(TESTS), spec=d, store=str(tmp_path))))
    url = optuna_url(spec, tmp_path)
    proc = subprocess.Popen([sys.executable, str(script)], env={**os.environ, "HF_HUB_OFFLINE": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finished_before: set[str] = set()
    deadline = time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None:
            time.sleep(1.0)
            if not (sweep_dir(spec, tmp_path) / "optuna.db").is_file():
                continue
            try:
                study = optuna.load_study(study_name=spec.name, storage=url)
            except Exception:  # noqa: BLE001 — the study appears with the first finished trial
                continue
            finished_before = {t.user_attrs["tune_trial_id"] for t in study.trials}
            if len(finished_before) >= 2:
                proc.send_signal(signal.SIGINT)  # Ctrl-C: Tune saves its state and stops
                break
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert 2 <= len(finished_before) < 6, "the sweep was not interrupted mid-way"
    assert proc.returncode != 0   # run_sweep raised Interrupted: a caller never takes the partial sweep as done

    table = run_sweep(spec, storage_dir=tmp_path, data=data, verbose=0)   # resume=True
    assert table["trial_id"].nunique() == 6 and set(table["status"]) == {"TERMINATED"}
    assert finished_before <= set(table["trial_id"])
    study = optuna.load_study(study_name=spec.name, storage=url)
    ids = [t.user_attrs["tune_trial_id"] for t in study.trials]
    assert len(ids) == len(set(ids)) == 6                       # each trial recorded once
    # each trial trained once: its own results.parquet holds one row per (seed, fold)
    trial_results = list((sweep_dir(spec, tmp_path) / "trials").glob("*/results.parquet"))
    assert len(trial_results) == 6
    assert all(len(pd.read_parquet(p)) == 1 for p in trial_results)


def test_trial_with_two_ddp_workers_reports_every_epoch_to_tune_and_finishes(ray_local, data, tmp_path):
    """workers > 1: the trial builds a TorchTrainer; TuneReportCallback forwards each epoch's `val_ua`."""
    d = grid_spec("t_ddp", epochs=3, points=(0.1,))
    d["experiment"].update(method="supervised", protocol={"name": "loso", "max_folds": 1})
    d["experiment"]["train"].update(workers=2, cpus_per_worker=0.5)
    d.update(parameters={"train.lr": {"grid": [0.001]}}, seeds=[0], max_concurrent_trials=1)
    spec = spec_from_dict(d)
    table = run_sweep(spec, storage_dir=tmp_path, data=data, verbose=0)
    assert list(table["status"]) == ["TERMINATED"] and list(table["workers"]) == [2]
    assert table["test_ua"].notna().all()
    [progress] = list((sweep_dir(spec, tmp_path) / "tune").glob("t_ddp/*/progress.csv"))
    per_epoch = pd.read_csv(progress)
    assert per_epoch["val_ua"].notna().sum() >= 3                  # every epoch reached Tune


def test_results_table_keeps_a_trial_that_never_started(tmp_path):
    """An interrupted sweep restored by Tune can hold trials with no config and no metrics yet."""
    from types import SimpleNamespace

    from semiemo.tune.runner import results_table
    from semiemo.tune.space import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "search_spaces" / "demo_sweep.yaml")
    never = SimpleNamespace(metrics=None, config=None, path=str(tmp_path / "trial_x"), error=None)
    table, errors = results_table([never], spec)
    assert table.loc[0, "status"] == "NOT_STARTED" and table.loc[0, "trial_id"] == "trial_x"
    assert errors.empty


@pytest.mark.timeout(300)
def test_a_sweep_over_feature_groups_featurizes_on_the_driver_and_does_not_starve(ray_local, tmp_path):
    """Trials that featurized inside their actors held both CPUs while their Ray Data tasks waited for
    one: a fresh store hung forever. The driver now featurizes every grid combination first."""
    spec = spec_from_dict({
        "name": "feat_grid",
        "experiment": {"corpus": "synthetic:acted=24,wild_labeled=0,unlabeled=0,seed=3", "features": ["egemaps"],
                       "method": "supervised", "model_hidden": [8], "feature_store": str(tmp_path / "store"),
                       "protocol": {"name": "speaker_kfold", "folds": 2, "max_folds": 1},
                       "train": {"epochs": 1, "batch_size": 8}},
        "parameters": {"features": {"grid": [["egemaps"], ["prosody"]], "scale": "category"}},
        "seeds": [0], "resources_per_trial": {"cpu": 1},
    })
    table = run_sweep(spec, storage_dir=tmp_path / "sweeps", verbose=0)
    assert (table["status"] == "TERMINATED").sum() == 2
    assert len(list((tmp_path / "store").rglob("*.parquet"))) >= 2


def test_workers_get_the_drivers_semiemo_paths_absolute(tmp_path, monkeypatch):
    """Tune runs each trial in its own directory: a relative $SEMIEMO_HOME (default ./semiemo_home)
    would point a trial at another, empty store and make it featurize and pre-train again."""
    from semiemo.jobs.ray_runtime import _local_runtime_env

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEMIEMO_HOME", raising=False)
    monkeypatch.setenv("SEMIEMO_FEATURE_STORE", "store_here")
    env = _local_runtime_env()["env_vars"]
    assert env["SEMIEMO_HOME"] == str(tmp_path / "semiemo_home")
    assert env["SEMIEMO_FEATURE_STORE"] == str(tmp_path / "store_here")


def test_a_changed_search_space_starts_over_instead_of_restoring_the_old_sweep(ray_local, data, tmp_path):
    def one_seed(points):
        return spec_from_dict({**grid_spec("t_changed", epochs=1, points=points), "seeds": [0]})

    first = run_sweep(one_seed((0.0, 0.3)), storage_dir=tmp_path, data=data, verbose=0)
    assert set(first["method_params.unsup_weight"]) == {0.0, 0.3}
    # a premise, the description, the figure's labels: the same trials answer it, restored, not re-run
    reworded = one_seed((0.0, 0.3)).model_copy(update={
        "description": "reworded", "premises": [Premise(kind="distinguishable", threshold=3.0)]})
    restored = run_sweep(reworded, storage_dir=tmp_path, data=data, verbose=0)
    assert sorted(restored["trial_id"]) == sorted(first["trial_id"])
    assert "reworded" in (sweep_dir(reworded, tmp_path) / "spec.yaml").read_text()   # the report reads the new one
    again = run_sweep(one_seed((0.0, 1.0)), storage_dir=tmp_path, data=data, verbose=0)
    assert set(again["method_params.unsup_weight"]) == {0.0, 1.0}
    assert not set(again["trial_id"]) & set(first["trial_id"])


def test_fewer_ended_trials_than_planned_is_an_interrupt_not_a_finished_sweep():
    from semiemo.errors import Interrupted
    from semiemo.tune.runner import _raise_if_interrupted

    _raise_if_interrupted(6, 6, "done")
    with pytest.raises(Interrupted, match=r"sweep cut interrupted: 2 of 6 trials ended.*run the same command again"):
        _raise_if_interrupted(2, 6, "cut")
    assert issubclass(Interrupted, KeyboardInterrupt)   # reproduce --all re-raises it; no status is written


def test_trials_tune_never_started_or_cut_short_under_fifo_are_not_ended():
    """Ctrl-C in a sweep: Tune marks never-started trials terminated; the table's statuses decide instead."""
    from semiemo.tune.runner import ended_trials

    table = pd.DataFrame({"trial_id": ["a", "a", "b", "c", "d", "e"],   # a: two (seed, fold) test rows
                          "status": ["TERMINATED", "TERMINATED", "ERROR", "STOPPED", "NOT_STARTED", "NOT_STARTED"]})
    assert ended_trials(table, early_stopping=False) == 2   # c lacks its final report: cut short under FIFO
    assert ended_trials(table, early_stopping=True) == 3    # under ASHA, c may have been stopped by the scheduler
    assert ended_trials(pd.DataFrame(), early_stopping=False) == 0

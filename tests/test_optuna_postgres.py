"""A sweep's Optuna study on a real PostgreSQL server (Debian's `postgresql` package, a private cluster
made with initdb/pg_ctl on a loopback port): every trial is recorded there, the sweep resumes from it,
and the trials ASHA stopped are PRUNED with their per-epoch values, not COMPLETE."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

import optuna
import pytest

from gaussian_featureset import gaussian_featureset
from semiemo.tune.runner import run_sweep
from semiemo.tune.space import spec_from_dict


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    """`postgresql+psycopg://postgres@127.0.0.1:<port>/semiemo` on a private server; stopped afterwards."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    pytest.importorskip("psycopg", reason="the driver comes with semiemo[postgres] (pip install 'psycopg[binary]')")
    from conftest import _free_port

    base = tmp_path_factory.mktemp("pg")
    data, port = base / "data", _free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:                       # initdb refuses root: run the server as `postgres`
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
        as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(base, 0o777)
        for parent in list(base.parents)[:-1]:  # the postgres user must be able to reach the folder
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    log = base / "server.log"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                    f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        import psycopg

        deadline = time.time() + 30
        while True:
            try:
                with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                                     autocommit=True) as conn:
                    conn.execute("CREATE DATABASE semiemo")
                break
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/semiemo"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "fast", "stop"], stdout=subprocess.DEVNULL)


def asha_spec() -> dict:
    return {
        "name": "pg_asha",
        "experiment": {"corpus": "gauss", "features": ["egemaps"], "method": "supervised", "model_hidden": [16],
                       "protocol": {"name": "speaker_kfold", "folds": 2, "max_folds": 1},
                       "train": {"epochs": 4, "batch_size": 16}},
        "parameters": {"train.lr": {"loguniform": [0.00001, 0.05], "scale": "log"}},
        "seeds": [0], "num_samples": 6, "sampler_seed": 0, "metric": "val_ua", "mode": "max",
        "scheduler": {"kind": "asha", "grace_period": 1, "reduction_factor": 3},
        # one trial at a time: ASHA's stops depend on which trials reported a rung first; with two at once
        # the order (and so whether any trial is stopped) varied from run to run
        "resources_per_trial": {"cpu": 0.5}, "max_concurrent_trials": 1,
    }


@pytest.fixture(scope="module")
def pg_sweep(ray_local, postgres_url, tmp_path_factory):
    spec = spec_from_dict(asha_spec())
    data = gaussian_featureset(n_per_class_speaker=5, speakers=4, dim=8, unlabeled=0)
    store = tmp_path_factory.mktemp("sweeps")
    table = run_sweep(spec, storage_dir=store, data=data, optuna_storage=postgres_url, verbose=0)
    return spec, store, data, table, postgres_url


def test_every_trial_is_recorded_in_postgres(pg_sweep):
    spec, _, _, table, url = pg_sweep
    study = optuna.load_study(study_name=spec.name, storage=url)
    print(f"\npostgres study {spec.name}: " + ", ".join(f"{t.number}:{t.state.name}" for t in study.trials))
    assert len(study.trials) == table["trial_id"].nunique() == 6
    assert not (Path(pg_sweep[1]) / spec.name / "optuna.db").exists()   # no SQLite beside it


def test_asha_stopped_trials_are_pruned_with_their_intermediate_values(pg_sweep):
    spec, _, _, table, url = pg_sweep
    study = optuna.load_study(study_name=spec.name, storage=url)
    stopped = set(table.loc[table["status"] == "STOPPED", "trial_id"])
    assert stopped, "ASHA stopped no trial: the test does not test pruning"
    for trial in study.trials:
        if trial.state == optuna.trial.TrialState.PRUNED:
            assert trial.intermediate_values, f"pruned trial {trial.number} carries no per-epoch values"
            assert max(trial.intermediate_values) < 4            # stopped before its last epoch
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(pruned) == len(stopped) and len(complete) == 6 - len(stopped)
    assert all(t.value is not None for t in complete)


def test_the_sweep_resumes_from_postgres_without_new_trials(pg_sweep):
    spec, store, data, table, url = pg_sweep
    again = run_sweep(spec, storage_dir=store, data=data, optuna_storage=url, verbose=0)
    study = optuna.load_study(study_name=spec.name, storage=url)
    assert set(again["trial_id"]) == set(table["trial_id"]) and len(study.trials) == 6

"""Run one search-space file as a Ray Tune sweep; Optuna (TPE) or the paper's grid; resumable.

Layout of a sweep directory (`<storage_dir>/<name>/`):

    tune/<name>/        Tune's experiment state (what `Tuner.restore` reads) and trial dirs
    optuna.db           the Optuna study (SQLite; any RDB URL via `optuna_storage`): optuna-dashboard.
                        SQLite is for one machine: its file lock is unsafe on NFS and other nodes never
                        see it. On a cluster give `--optuna-storage postgresql://...` (`semiemo[postgres]`)
                        or another RDB URL; the driver is the only process that talks to the study.
    tensorboard/<trial> per-trial curves + HParams: `tensorboard --logdir <sweep dir>/tensorboard`
    finished.jsonl      final reports as they arrive (so a killed driver never re-trains a finished trial)
    trials/<trial id>   each trial's own run_experiment output (results.parquet, TensorBoard per seed/fold)
    results.parquet/csv one row per (trial, seed, fold): swept parameters, test metrics, objective
    errors.csv          trials that failed, with their error (only when some did)
    spec.yaml           the validated search space that ran

The sweep directory is `<storage root>/sweeps/<name>` (`semiemo.storage`): with a URI root, Tune's
state and the trials' outputs are written there by Ray and the trials; the driver's own files are
staged locally and uploaded when the sweep ends.

Optuna sweeps hand `OptunaSearch` a study in `RDBStorage`, so Optuna itself records every trial's
params, intermediate values and final value there. Grid sweeps use Tune's `grid_search`; a driver
callback (`OptunaGridRecorder`) writes each finished grid trial into the same study.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from semiemo.tune.space import SearchSpace, grid_points, load_spec, to_param_space, trial_budget, trial_definition
from semiemo.tune.trial import FINAL_FLAG, ROWS_KEY, rows_from_result, run_trial

OPTUNA_DB = "optuna.db"


def default_storage_dir() -> str:
    """`<storage root>/sweeps` (a folder or a URI)."""
    from semiemo import storage

    return storage.location("sweeps")


def sweep_location(spec: SearchSpace, storage_dir: str | Path | None = None) -> str:
    """Where the sweep lives: a folder or a URI."""
    from semiemo import storage

    return storage.join(storage_dir or default_storage_dir(), spec.name)


def sweep_dir(spec: SearchSpace, storage_dir: str | Path | None = None) -> Path:
    """The local folder of the sweep's driver-side files (the sweep itself, or its staging mirror)."""
    from semiemo import storage

    return storage.local_dir(sweep_location(spec, storage_dir))


def optuna_url(spec: SearchSpace, storage_dir: str | Path | None = None, optuna_storage: str | None = None) -> str:
    """The study's RDB URL: `optuna_storage` when given, else SQLite at `<sweep dir>/optuna.db`."""
    return optuna_storage or f"sqlite:///{sweep_dir(spec, storage_dir) / OPTUNA_DB}"


def _trials_changed(old_spec: Path, spec: SearchSpace) -> bool:
    """Whether the spec a sweep ran with defines other trials than `spec` (`space.trial_definition`)."""
    try:
        old = yaml.safe_load(old_spec.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return True
    return trial_definition(old) != trial_definition(spec)


def run_sweep(
    spec: str | Path | SearchSpace,
    address: str | None = None,
    storage_dir: str | Path | None = None,
    resume: bool = True,
    *,
    optuna_storage: str | None = None,
    data: Any = None,
    objective: Any = None,
    verbose: int = 1,
) -> pd.DataFrame:
    """Run (or resume) the sweep; returns its results table (also written to the sweep directory).

    `data`: a FeatureSet for every trial (default: loaded once here, passed by `tune.with_parameters`).
    `objective`: what a trial runs (default `run_experiment`); a module-level function of the same signature.
    """
    from semiemo import storage as storage_root
    from semiemo.jobs.ray_runtime import check_cluster, init_ray

    spec = spec if isinstance(spec, SearchSpace) else load_spec(spec)
    where = sweep_location(spec, storage_dir)
    init_ray(address)
    check_cluster()
    with storage_root.writable(where) as out:
        return _run_sweep(spec, where, out, address, storage_dir, resume, optuna_storage, data, objective, verbose)


def _run_sweep(spec: SearchSpace, where: str, out: Path, address: str | None, storage_dir: Any, resume: bool,
               optuna_storage: str | None, data: Any, objective: Any, verbose: int) -> pd.DataFrame:
    import optuna
    from ray import tune

    from semiemo import storage as storage_root
    from semiemo.tune.callbacks import FinishedLedger, OptunaGridRecorder, TensorBoardCallback, read_ledger

    tune_root = storage_root.join(where, "tune")      # a URI goes to Tune as is
    exp_path = storage_root.join(tune_root, spec.name)
    url = optuna_url(spec, storage_dir, optuna_storage)
    spec_text = yaml.safe_dump(spec.model_dump(mode="json", by_alias=True), sort_keys=False)
    restoring = resume and tune.Tuner.can_restore(exp_path)
    if restoring and (out / "spec.yaml").is_file() and _trials_changed(out / "spec.yaml", spec):
        restoring = False  # the search space changed since that sweep ran: its trials answer another question
    if not restoring:
        _start_fresh(out, spec, url, where)
    out.mkdir(parents=True, exist_ok=True)
    (out / "spec.yaml").write_text(spec_text)

    if data is None and objective is None:
        data = _load_data_once(spec, address)
    if objective is None:
        _prepare_on_driver(spec, address)
    storage = optuna.storages.RDBStorage(url)
    ledger = out / "finished.jsonl"
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, spec=spec.model_dump(mode="json", by_alias=True), data=data,
                             finished=read_ledger(ledger), cpus=spec.resources_per_trial.cpu,
                             objective=objective, trials_dir=storage_root.join(where, "trials")),
        {"cpu": spec.resources_per_trial.cpu, "gpu": spec.resources_per_trial.gpu},
    )
    discrete = {k: p.values_for_record() for k, p in spec.parameters.items() if p.values_for_record()}
    names = list(spec.parameters) + (["seed"] if spec.search_kind == "grid" else [])
    if spec.search_kind == "grid":
        discrete["seed"] = list(spec.seeds)
    callbacks: list[Any] = [
        TensorBoardCallback(out / "tensorboard", names, spec.metric, discrete),
        FinishedLedger(ledger),
    ]
    if spec.search_kind == "grid":
        callbacks.append(OptunaGridRecorder(storage, spec.name, spec.metric, spec.mode, discrete))

    if restoring:
        tuner = tune.Tuner.restore(exp_path, trainable=trainable, resume_unfinished=True,
                                   resume_errored=False, restart_errored=True)
    else:
        tuner = tune.Tuner(
            trainable,
            param_space=to_param_space(spec),
            tune_config=tune.TuneConfig(
                metric=spec.metric, mode=spec.mode, num_samples=spec.num_samples,
                search_alg=_searcher(spec, storage), scheduler=_scheduler(spec),
                max_concurrent_trials=spec.max_concurrent_trials, reuse_actors=True),
            run_config=tune.RunConfig(name=spec.name, storage_path=tune_root, callbacks=callbacks,
                                      verbose=verbose, failure_config=tune.FailureConfig(max_failures=0)),
        )
    from semiemo.jobs.ray_logs import tune_prints_to_log

    with tune_prints_to_log(silent=verbose == 0):
        grid = tuner.fit()
    table, errors = results_table(grid, spec)
    write_table(table, out / "results")
    if not errors.empty:
        errors.to_csv(out / "errors.csv", index=False)
    _raise_if_interrupted(ended_trials(table, early_stopping=spec.scheduler.kind != "fifo"), trial_budget(spec), spec.name)
    return table


def ended_trials(table: pd.DataFrame, early_stopping: bool) -> int:
    """Trials that ran to their end: a final report (TERMINATED rows; NO_ROWS when it carried none) or an
    error, and — only where the scheduler stops trials early (ASHA) — stopped after at least one report.
    Not Tune's own count: when Ctrl-C ends a sweep, Tune marks the trials it never started as terminated too
    (seen with mmmd_temperature: 25 of 27 never started, and the analysis was recorded as done with "no
    finished trials"), and under FIFO a trial without its final report was cut short, not stopped."""
    if table.empty or "trial_id" not in table.columns:
        return 0
    ended = {"TERMINATED", "NO_ROWS", "ERROR"} | ({"STOPPED"} if early_stopping else set())
    return int(table.loc[table["status"].isin(ended), "trial_id"].nunique())


def _raise_if_interrupted(ended: int, planned: int, name: str) -> None:
    """Tune answers Ctrl-C by saving its state and returning from `fit()` as if the sweep were done; a
    caller would then judge a part of the grid ("modalities=avl was not swept") and record the analysis
    as finished, so a rerun skipped it. Fewer trials ended than planned means the sweep was cut short."""
    if ended < planned:
        from semiemo.errors import Interrupted

        raise Interrupted(f"sweep {name} interrupted: {ended} of {planned} trials ended; its state is saved — "
                          f"run the same command again to resume (finished trials are not run again)")


def _start_fresh(out: Path, spec: SearchSpace, url: str, where: str | None = None) -> None:
    """A new sweep (or `resume=False`): clear this sweep's earlier state, including its Optuna study."""
    import optuna

    from semiemo import storage as storage_root

    for sub in ("tune", "tensorboard", "trials"):
        shutil.rmtree(out / sub, ignore_errors=True)
        if where is not None and storage_root.is_uri(where):
            storage_root.remove_tree(storage_root.join(where, sub))
    for f in ("finished.jsonl", "errors.csv", "results.parquet", "results.csv"):
        (out / f).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    try:
        optuna.delete_study(study_name=spec.name, storage=url)
    except KeyError:
        pass


def _searcher(spec: SearchSpace, storage: Any) -> Any:
    if spec.search_kind == "grid":
        return None  # Tune's BasicVariantGenerator expands `grid_search`
    import optuna

    from semiemo.tune.pruned_search import PruneAwareOptunaSearch

    return PruneAwareOptunaSearch(sampler=optuna.samplers.TPESampler(seed=spec.sampler_seed),
                        study_name=spec.name, storage=storage)


def _scheduler(spec: SearchSpace) -> Any:
    if spec.scheduler.kind == "fifo":
        return None
    from ray.tune.schedulers import ASHAScheduler

    cfg = spec.base_config()
    seeds_per_trial = 1 if spec.search_kind == "grid" else len(spec.seeds)
    folds = cfg.protocol.max_folds or 1
    max_t = spec.scheduler.max_t or cfg.train.epochs * seeds_per_trial * folds + 1
    return ASHAScheduler(time_attr="training_iteration", grace_period=spec.scheduler.grace_period,
                         reduction_factor=spec.scheduler.reduction_factor, max_t=max_t)


def _load_data_once(spec: SearchSpace, address: str | None) -> Any:
    """The FeatureSet for every trial, loaded on the driver; None when trials sweep corpus/features
    (then every combination is featurized here first, see `_prefeaturize`)."""
    if {"corpus", "features", "feature_store"} & set(spec.parameters):
        _prefeaturize(spec, address)
        return None
    from semiemo.features import load_featureset

    cfg = spec.base_config()
    features = list(cfg.features)
    if "arm" in spec.parameters:  # a table of methods: one FeatureSet holding every arm's groups
        arms = [spec.arms[str(a)] for a in spec.parameters["arm"].grid or []]
        if any({"corpus", "feature_store"} & set(a) for a in arms):
            _prefeaturize(spec, address)
            return None
        features += [f for a in arms for f in a.get("features", []) if f not in features]
        features = list(dict.fromkeys(features))
    return load_featureset(cfg.corpus, features, store_root=cfg.feature_store, address=address)


def _prefeaturize(spec: SearchSpace, address: str | None) -> None:
    """Featurize every (corpus, features) a grid's trials will ask for, on the driver, before Tune starts.

    A trial that featurizes inside its actor holds that actor's CPU while its Ray Data tasks wait for
    one: with every CPU held by a trial they never run (a silent hang on a 2-core machine). Featurized
    here, the trials only read the store. Sampled (non-grid) corpus/features cannot be enumerated and are
    left to the trials."""
    import itertools

    from semiemo.features import load_featureset

    cfg = spec.base_config()
    def values(name: str, default: Any) -> list[Any]:
        p = spec.parameters.get(name)
        return list(p.grid) if p is not None and p.grid else [default]

    combos = set()
    arms = [spec.arms[str(a)] for a in (spec.parameters["arm"].grid or [])] if "arm" in spec.parameters else [{}]
    for arm, corpus, feats in itertools.product(arms, values("corpus", cfg.corpus), values("features", cfg.features)):
        corpus = arm.get("corpus", corpus)
        feats = arm.get("features", feats)
        combos.add((str(corpus), tuple(feats if isinstance(feats, (list, tuple)) else [feats])))
    store_root = cfg.feature_store
    for corpus, feats in sorted(combos):
        load_featureset(corpus, list(feats), store_root=store_root, address=address)


def _prepare_on_driver(spec: SearchSpace, address: str | None) -> list[dict[str, Any]]:
    """What trials would otherwise make inside their actors, made once before they start: pre-trained
    weights that methods request (paper 004's front-ends, one per recipe × seed: parallel Ray tasks of
    the trial's CPUs, `tune.pretrain_tasks`) and external unlabeled pools' features. Inside a trial, that
    work holds the trial's CPU while its own Ray tasks wait for one. Returns the front-ends' records."""
    from semiemo.methods.base import hparams_from_dict
    from semiemo.methods.registry import get_method
    from semiemo.tune.pretrain_tasks import pretrain_in_tasks
    from semiemo.tune.space import experiment_config

    done: set[str] = set()
    seeds = list(spec.seeds)
    pretrain: list[tuple[dict[str, Any], int]] = []
    for params in grid_points(spec):
        cfg = experiment_config(spec, params, seed=seeds[0])
        cls = get_method(cfg.method)
        requests = cls.plan(hparams_from_dict(cls.HParams, cfg.method_params)).pretrained if hasattr(cls, "plan") else {}
        for request in requests.values():
            for seed in seeds:
                key = repr((sorted(request.items()), seed, cfg.feature_store))
                if key not in done:
                    done.add(key)
                    pretrain.append((request, seed))   # into the store each trial's run_fold reads by key
        for policy, k in sorted(cfg.views.items()):  # asked-for audio views must be stored: fail here, not per trial
            key = repr(("views", cfg.corpus, tuple(cfg.features), policy, k, cfg.views_seed, cfg.feature_store))
            if key not in done:   # per corpus and features too: arms may differ in them
                done.add(key)
                from semiemo.features.audio_views import stored_view_entries

                stored_view_entries(cfg.corpus, cfg.features, policy, k, cfg.views_seed, cfg.feature_store)
        if cfg.unlabeled and f"pool:{cfg.unlabeled}:{cfg.features}" not in done:
            done.add(f"pool:{cfg.unlabeled}:{cfg.features}")
            from semiemo.corpora.unlabeled_pool import pool_parts
            from semiemo.features.pipeline import resolve_featurizer
            from semiemo.features.pool import featurize_pool

            featurize_pool(pool_parts(cfg.unlabeled), [resolve_featurizer(f.split(".")[0]) for f in dict.fromkeys(cfg.features)],
                           cfg.feature_store, address=address)
    return pretrain_in_tasks(pretrain, cpus=spec.resources_per_trial.cpu, address=address)


def results_table(grid: Any, spec: SearchSpace) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per trial × seed × fold, failed trials with their error) from a Tune ResultGrid."""
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    names = list(spec.parameters) + (["seed"] if spec.search_kind == "grid" else [])
    for result in grid:
        metrics = dict(result.metrics or {})
        params = {k: (result.config or {}).get(k) for k in names}  # a trial restored before it ever started has no config
        base = {"trial_id": metrics.get("trial_id") or Path(result.path).name, **params,
                "objective": metrics.get(spec.metric), "epochs_reported": metrics.get("training_iteration")}
        if result.error is not None:
            errors.append({**base, "error": f"{type(result.error).__name__}: {result.error}"})
            rows.append({**base, "status": "ERROR"})
            continue
        test_rows = rows_from_result(metrics)
        if not test_rows:  # finished without rows, ASHA stopped it before the test evaluation, or it never started
            status = ("NO_ROWS" if metrics.get(FINAL_FLAG) else "STOPPED" if metrics.get("training_iteration")
                      else "NOT_STARTED")
            rows.append({**base, "status": status})
            continue
        for r in test_rows:
            r = {k: v for k, v in r.items() if k not in params or k == "seed"}
            rows.append({**base, "status": "TERMINATED", **r, **({"seed": params["seed"]} if "seed" in params else {})})
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.drop(columns=[ROWS_KEY], errors="ignore")
    return _arrow_safe(table), pd.DataFrame(errors)


def _arrow_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing types (e.g. unlabeled_quantity 0, 500, "all") become strings for Parquet."""
    for c in df.columns:
        if df[c].dtype == object:
            types = {type(v) for v in df[c].dropna()}
            if len(types) > 1 or (types and not types <= {str}) and any(isinstance(v, (list, dict)) for v in df[c].dropna()):
                df[c] = df[c].map(lambda v: v if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
    return df


def write_table(df: pd.DataFrame, stem: Path) -> None:
    stem.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(stem.with_suffix(".parquet"), index=False)
    df.to_csv(stem.with_suffix(".csv"), index=False)


def read_results(spec: SearchSpace, storage_dir: str | Path | None = None) -> pd.DataFrame:
    return pd.read_parquet(sweep_dir(spec, storage_dir) / "results.parquet")


__all__ = ["run_sweep", "sweep_dir", "optuna_url", "results_table", "read_results", "trial_budget"]

"""What one Tune trial runs: the trial's `ExperimentConfig`, trained by `run_experiment`, reporting each epoch.

Every epoch's validation metrics and losses go to `tune.report` (ASHA and Optuna see them); the last
report adds the test metrics of every (seed, fold) row, so the driver can build the sweep's table
without reading trial directories (which need not be on a shared filesystem).
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable

import pandas as pd

FINAL_FLAG = "final"        # 1.0 on the trial's last report, the one that carries test rows
ROWS_KEY = "rows_json"      # that report's (seed, fold) test rows, as JSON records
REPLAYED = "replayed"       # 1.0 when a resumed trial re-reports its recorded result instead of training
TEST_PREFIX = "test_"
DONE_FILE = "trial_result.json"  # a trial's final report, written when its training has finished


def numeric_metrics(d: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The finite scalar numbers of a (nested) report dict, nested keys joined with '/'."""
    out: dict[str, float] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(numeric_metrics(v, prefix=f"{key}/"))
        elif isinstance(v, bool):
            out[key] = float(v)
        elif isinstance(v, (int, float)) or (hasattr(v, "item") and getattr(v, "ndim", 1) == 0):
            f = float(v)
            if math.isfinite(f):
                out[key] = f
    return out


def with_flat_val_names(metrics: dict[str, float]) -> dict[str, float]:
    """The loop reports `val/ua`; results tables say `val_ua`. A spec's `metric: val_ua` must find its
    value in every report (OptunaSearch reads it per epoch), so each `val/<m>` also goes as `val_<m>`."""
    out = dict(metrics)
    out.update({"val_" + k[4:]: v for k, v in metrics.items() if k.startswith("val/")})
    return out


def summarize(frame: pd.DataFrame, metric: str, last_epoch: dict[str, float]) -> dict[str, Any]:
    """The trial's final report: the objective, mean test metrics and the per-(seed, fold) rows."""
    final: dict[str, Any] = {FINAL_FLAG: 1.0}
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               and c.startswith((TEST_PREFIX, "val_"))]
    final.update(numeric_metrics({c: frame[c].mean() for c in numeric}))  # e.g. test_ua, val_ua of the best epoch
    if metric not in final and metric in last_epoch:
        final[metric] = last_epoch[metric]                   # the last epoch's value
    final[ROWS_KEY] = frame.to_json(orient="records", default_handler=str)
    return final


Objective = Callable[..., pd.DataFrame]  # (cfg: ExperimentConfig, data=FeatureSet | None, report=fn) -> rows


def run_trial(config: dict[str, Any], *, spec: dict[str, Any], data: Any = None,
              finished: dict[str, dict[str, Any]] | None = None, cpus: float = 1.0,
              objective: Objective | None = None, trials_dir: str | None = None) -> None:
    """Tune function trainable. `spec` is the SearchSpace as a dict; `data` the driver's FeatureSet.

    `objective` defaults to `semiemo.train.experiment.run_experiment`; anything with its signature
    works (the overhead benchmark times the same objective under bare Optuna).
    `trials_dir`: each trial's run_experiment output (results.parquet, its own TensorBoard events) goes
    to `<trials_dir>/<trial id>` (on a multi-node cluster: on the node that ran it, unless shared).
    `finished` maps trial ids whose final report the driver already holds (a resumed sweep whose
    snapshot predates their end): such a trial re-reports its result instead of training again.
    """
    from ray import tune

    from semiemo.tune.space import SearchSpace, experiment_config

    trial_id = tune.get_context().get_trial_id()
    if finished and trial_id in finished:
        tune.report({**finished[trial_id], REPLAYED: 1.0})
        return

    sweep = SearchSpace.model_validate(spec)
    params = {k: v for k, v in config.items() if k != "seed"}
    cfg = experiment_config(sweep, params, seed=config.get("seed"))
    cfg.name = f"{sweep.name}-{trial_id}"
    from semiemo import storage

    # a URI (the storage root on a bucket) or a folder; a trial may run on any node
    cfg.output_dir = storage.join(trials_dir, trial_id) if trials_dir else tune.get_context().get_trial_dir()
    if cfg.train.num_threads is None:
        cfg.train.num_threads = max(1, int(cpus))
    import torch

    torch.set_num_threads(cfg.train.num_threads)

    last_epoch: dict[str, float] = {}

    def report(epoch: dict[str, Any]) -> None:
        nonlocal last_epoch
        last_epoch = with_flat_val_names(numeric_metrics(epoch))
        tune.report(dict(last_epoch))

    # A trial that finished training but whose final report the interrupted driver never recorded
    # replays its result from its own directory instead of training again.
    done_marker = storage.join(cfg.output_dir, DONE_FILE)
    recorded = storage.read_text(done_marker)
    if recorded is not None:
        tune.report({**json.loads(recorded), REPLAYED: 1.0})
        return
    if objective is None:
        from semiemo.train.experiment import run_experiment as objective
    frame = objective(cfg, data=data, report=report)
    final = summarize(frame, sweep.metric, last_epoch)
    storage.write_text(done_marker, json.dumps(final))  # whole or not at all, on a folder or a URI
    tune.report(final)


def rows_from_result(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Test rows carried by a trial's final report (empty when ASHA stopped it early)."""
    raw = metrics.get(ROWS_KEY)
    return json.loads(raw) if isinstance(raw, str) else []

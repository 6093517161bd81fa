"""Driver-side records of a sweep: TensorBoard curves + HParams per trial, and grid trials into the Optuna study.

Both run on the Tune driver (a `tune.Callback`), so they write to the sweep directory even when trials
run on other nodes without a shared filesystem.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

from ray.tune import Callback

from semiemo.tune.trial import FINAL_FLAG, numeric_metrics

# Tune's own bookkeeping in every result; not training curves.
_TUNE_KEYS = {
    "training_iteration", "time_this_iter_s", "time_total_s", "timestamp", "time_since_restore",
    "iterations_since_restore", "pid", "done", "trial_id", "date", "hostname", "node_ip",
    "checkpoint_dir_name", "should_checkpoint", FINAL_FLAG,
}


def _hparam_value(v: Any) -> Any:
    """TensorBoard HParams and Optuna take bool/int/float/str (None becomes the string 'None')."""
    if v is None:
        return "None"
    if isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def _domain(values: list[Any]) -> tuple[str, list[Any]]:
    """A discrete domain of one type, as TensorBoard's HParams needs: 'float', 'bool' or 'str'."""
    if all(isinstance(v, bool) for v in values):
        return "bool", list(values)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float", [float(v) for v in values]
    return "str", [str(v) for v in values]


def _as(kind: str, v: Any) -> Any:
    return float(v) if kind == "float" else (bool(v) if kind == "bool" else str(v))


class TensorBoardCallback(Callback):
    """One TensorBoard run per trial under `logdir`: every reported number per epoch, and the HParams
    (the trial's swept parameters against its final metrics) when it ends."""

    def __init__(self, logdir: str | Path, param_names: list[str], metric: str,
                 discrete: dict[str, list[Any]] | None = None) -> None:
        self.logdir = Path(logdir)
        self.param_names = param_names
        self.metric = metric
        self.discrete = {k: _domain(list(vs)) for k, vs in (discrete or {}).items()}
        self._writers: dict[str, Any] = {}

    def _writer(self, trial: Any) -> Any:
        from torch.utils.tensorboard import SummaryWriter

        w = self._writers.get(trial.trial_id)
        if w is None:
            w = SummaryWriter(log_dir=str(self.logdir / str(trial)))
            self._writers[trial.trial_id] = w
        return w

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if result.get(FINAL_FLAG):
            return  # the final report's test metrics go to HParams, not the curves
        w = self._writer(trial)
        step = int(result.get("training_iteration", 0))
        for k, v in numeric_metrics({k: v for k, v in result.items() if k not in _TUNE_KEYS}).items():
            w.add_scalar(k, v, step)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._safely(self._write_hparams, trial, "TERMINATED")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._safely(self._write_hparams, trial, "ERROR")

    @staticmethod
    def _safely(fn: Any, *args: Any) -> None:
        try:  # a logging failure must not fail the trial or the sweep
            fn(*args)
        except Exception as e:  # noqa: BLE001
            warnings.warn(f"TensorBoard HParams not written for trial {args[0]}: {type(e).__name__}: {e}")

    def _write_hparams(self, trial: Any, status: str) -> None:
        from torch.utils.tensorboard.summary import hparams

        result = dict(trial.last_result or {})
        hp = {}
        for k in self.param_names:
            if k in trial.config:
                v = trial.config[k]
                hp[k] = _as(self.discrete[k][0], v) if k in self.discrete else _hparam_value(v)
        hp["status"] = status
        final = {k: v for k, v in numeric_metrics(result).items()
                 if k == self.metric or k.startswith("test_")}
        metrics = {f"hparam/{k}": v for k, v in final.items()} or {f"hparam/{self.metric}": float("nan")}
        discrete = {k: vs for k, (_, vs) in self.discrete.items() if k in hp}
        w = self._writer(trial)
        exp, ssi, sei = hparams(hp, metrics, hparam_domain_discrete=discrete or None)
        w.file_writer.add_summary(exp)
        w.file_writer.add_summary(ssi)
        w.file_writer.add_summary(sei)
        step = int(result.get("training_iteration", 0))
        for k, v in metrics.items():
            if math.isfinite(v):
                w.add_scalar(k, v, step)
        w.flush()
        w.close()
        self._writers.pop(trial.trial_id, None)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        for w in self._writers.values():
            w.close()
        self._writers.clear()


class OptunaGridRecorder(Callback):
    """Grid sweeps run through Tune's grid search, not Optuna; this writes each finished grid trial into
    the RDB-backed study (params, value, Tune trial id) so optuna-dashboard shows grid sweeps too.
    Idempotent: a trial id already in the study is not added twice (resumed sweeps)."""

    def __init__(self, storage: Any, study_name: str, metric: str, mode: str,
                 grid: dict[str, list[Any]]) -> None:
        self.storage = storage
        self.study_name = study_name
        self.metric = metric
        self.mode = mode
        self.grid = {k: [_hparam_value(v) for v in vs] for k, vs in grid.items()}
        self._study: Any = None
        self._recorded: set[str] = set()

    def setup(self, **info: Any) -> None:
        import optuna

        self._study = optuna.create_study(
            storage=self.storage, study_name=self.study_name, load_if_exists=True,
            direction="maximize" if self.mode == "max" else "minimize")
        self._recorded = {t.user_attrs.get("tune_trial_id") for t in self._study.get_trials(deepcopy=False)}

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._record(trial, failed=False)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._record(trial, failed=True)

    def _record(self, trial: Any, failed: bool) -> None:
        import optuna
        from optuna.distributions import CategoricalDistribution
        from optuna.trial import TrialState

        if self._study is None:
            self.setup()
        if trial.trial_id in self._recorded:
            return
        result = dict(trial.last_result or {})
        value = result.get(self.metric)
        ok = not failed and isinstance(value, (int, float)) and math.isfinite(float(value))
        params = {k: _hparam_value(trial.config[k]) for k in self.grid if k in trial.config}
        dists = {k: CategoricalDistribution(self.grid[k]) for k in params}
        attrs = {"tune_trial_id": trial.trial_id}
        attrs.update({k: v for k, v in numeric_metrics(result).items() if k.startswith("test_")})
        self._study.add_trial(optuna.trial.create_trial(
            params=params, distributions=dists, value=float(value) if ok else None,
            state=TrialState.COMPLETE if ok else TrialState.FAIL, user_attrs=attrs,
            intermediate_values=None))
        self._recorded.add(trial.trial_id)


class FinishedLedger(Callback):
    """Appends each trial's final report to `<sweep dir>/finished.jsonl` as it arrives.

    Tune snapshots its experiment state every ~10 s; a driver killed between a trial's end and the next
    snapshot would re-run that trial on restore. The runner hands this ledger to the trainable, which
    re-reports a listed trial's result instead of training it again.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._seen = set(read_ledger(self.path))

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if not result.get(FINAL_FLAG) or trial.trial_id in self._seen:
            return
        self._seen.add(trial.trial_id)
        keep = {k: v for k, v in result.items() if k not in _TUNE_KEYS or k == FINAL_FLAG}
        with self.path.open("a") as f:
            f.write(json.dumps({"trial_id": trial.trial_id, "result": keep}, default=str) + "\n")
            f.flush()


def read_ledger(path: str | Path) -> dict[str, dict[str, Any]]:
    """trial id -> final report, from a FinishedLedger file (missing file: empty)."""
    path = Path(path)
    out: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a killed driver: that trial re-runs
                warnings.warn(f"{path}: skipping a truncated ledger line; that trial will run again")
                continue
            out[rec["trial_id"]] = rec["result"]
    return out

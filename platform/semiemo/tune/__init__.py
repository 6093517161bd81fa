"""Sweeps: search-space YAML -> Ray Tune (Optuna TPE or the paper's grid, ASHA/FIFO) -> results,
an Optuna RDB study and TensorBoard HParams. Importing this package does not import Ray."""

from semiemo.tune.space import SearchSpace, SpecError, experiment_config, load_spec, to_param_space, trial_budget

__all__ = ["SearchSpace", "SpecError", "experiment_config", "load_spec", "to_param_space", "trial_budget",
           "run_sweep"]


def run_sweep(*args, **kwargs):  # noqa: ANN002, ANN003 — see semiemo.tune.runner.run_sweep
    from semiemo.tune.runner import run_sweep as _run

    return _run(*args, **kwargs)

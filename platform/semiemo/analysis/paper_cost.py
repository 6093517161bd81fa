"""What `--budget paper` would cost: optimizer steps counted from the paper-budget spec, times a per-step
cost measured here by training that exact configuration for a few steps.

Per analysis: every grid point's paper-sized config (model, batch, features as the paper sets them) is
trained for `measure_steps` steps per epoch × 2 epochs on the analysis's quick corpus (the same feature
shapes; the step cost does not depend on the pool's size), and `train_time_s / train_steps` is its
per-step cost on this device. Configurations that cost the same (they differ only in float
hyperparameters such as λ or τ) are measured once. The step count is

    seeds × folds × epochs × steps per epoch

with folds from the protocol on the corpus, steps per epoch = `train.steps_per_epoch`, else the
labeled training rows (the paper corpus's labeled rows × the fold's training share × label fraction)
over the batch size, or the unlabeled pool over μ·B for a method whose epoch is one pass over the pool.
Evaluation, featurization, front-end pre-training (paper 004, its own job) and scheduling are not
counted: the estimate is a floor.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from typing import Any

from semiemo.tune.space import SearchSpace, experiment_config

PAPER_POOL = 500_000


@dataclass
class Cost:
    name: str
    points: int
    runs: int                 # trials × seeds × folds
    steps: int                # optimizer steps in total
    s_per_step: float         # measured, mean over the analysis's distinct configurations
    hours: float              # steps × measured per-step cost, on the measuring device
    note: str = ""


def grid_points(spec: SearchSpace) -> list[dict[str, Any]]:
    """The sweep's trials as parameter dicts (Optuna: num_samples trials costing what the first point costs)."""
    from semiemo.tune.space import grid_points as points

    pts = points(spec)
    return pts[:1] * spec.num_samples if spec.search_kind != "grid" else pts


def cost_key(cfg: Any) -> str:
    """Configurations with the same key cost the same per step (floats such as λ, τ, lr do not matter)."""
    mp = {k: v for k, v in cfg.method_params.items() if not isinstance(v, float)}
    return json.dumps({"method": cfg.method, "features": list(cfg.features), "batch": cfg.train.batch_size,
                       "mu": cfg.train.mu, "hidden": list(cfg.model_hidden), "mp": mp,
                       "extra": {k: str(v) for k, v in cfg.model_dump().items() if k in ("transformer", "backbone")}},
                      sort_keys=True, default=str)


def labeled_rows(cfg: Any, data: Any) -> int:
    corpus = str(cfg.corpus)
    if corpus.split(":", 1)[0] == "synthetic":
        from semiemo.corpora import parse_synthetic_spec

        sc = parse_synthetic_spec(corpus.split(":", 1)[1] if ":" in corpus else "")
        return int(sc.n_acted + sc.n_wild_labeled)
    return int(data.manifest["labeled"].sum())


def pool_rows(cfg: Any) -> int:
    corpus = str(cfg.corpus)
    if corpus.split(":", 1)[0] == "synthetic":
        from semiemo.corpora import parse_synthetic_spec

        return int(parse_synthetic_spec(corpus.split(":", 1)[1] if ":" in corpus else "").n_unlabeled)
    return PAPER_POOL


def steps_per_epoch(cfg: Any, data: Any, folds: int) -> int:
    from semiemo.methods.registry import get_method

    b = cfg.train.batch_size
    if cfg.train.steps_per_epoch:
        return int(cfg.train.steps_per_epoch)
    if getattr(get_method(cfg.method), "epoch_is_unlabeled_pass", False):
        return math.ceil(pool_rows(cfg) / (max(1, cfg.train.mu) * b))
    share = (1 - 1 / max(folds, 2)) * (1 - cfg.protocol.validation_fraction) * cfg.label_fraction
    return max(1, math.ceil(labeled_rows(cfg, data) * share / b))


def measure_step(cfg: Any, data: Any, measure_corpus: str, steps: int) -> float:
    """Seconds per optimizer step of `cfg`, trained here for 2 × `steps` steps on `data`."""
    from semiemo.train.experiment import run_experiment

    raw = cfg.model_dump()
    raw["corpus"] = measure_corpus
    raw["seeds"] = [0]
    raw["protocol"]["max_folds"] = 1
    raw["train"].update(epochs=2, steps_per_epoch=steps)
    if raw.get("method_params", {}).get("frontend") not in (None, "R"):
        # which pre-trained weights a front-end holds does not change a fine-tuning step's cost; the
        # pre-training itself is a separate job (`semiemo pretrain`), not counted here
        raw["method_params"]["frontend"] = "R"
    with tempfile.TemporaryDirectory() as tmp:
        raw["output_dir"] = tmp
        row = run_experiment(type(cfg).model_validate(raw), data=data).iloc[0]
    return float(row["train_time_s"]) / max(1, int(row.get("train_steps", 0) or 1))


def estimate(paper: SearchSpace, quick: SearchSpace, data: Any, measure_steps: int = 3,
             cache: dict[str, float] | None = None) -> Cost:
    from semiemo.protocols import make_folds

    cache = {} if cache is None else cache
    runs = steps = 0
    seconds = 0.0
    measured: list[float] = []
    notes = []
    for params in grid_points(paper):
        cfg = experiment_config(paper, params, seed=0)
        folds = len(make_folds(data.manifest, cfg.protocol.model_copy(update={"max_folds": None}), 0))
        key = cost_key(cfg)
        if key not in cache:
            try:
                cache[key] = measure_step(cfg, data, str(quick.base_config().corpus), measure_steps)
            except Exception as e:  # a configuration that cannot be measured is said, not guessed
                cache[key] = float("nan")
                notes.append(f"{params}: not measured ({type(e).__name__}: {str(e).splitlines()[0][:80]})")
        n_runs = len(paper.seeds) * folds
        n_steps = n_runs * cfg.train.epochs * steps_per_epoch(cfg, data, folds)
        runs += n_runs
        steps += n_steps
        if cache[key] == cache[key]:
            seconds += n_steps * cache[key]
            measured.append(cache[key])
    mean = sum(measured) / len(measured) if measured else float("nan")
    return Cost(paper.name, len(grid_points(paper)), runs, steps, mean, seconds / 3600 if measured else float("nan"),
                "; ".join(notes))


def estimate_all(names: list[str] | None = None, measure_steps: int = 3, out: Any = None) -> list[Cost]:
    """Every analysis (or `names`) at `--budget paper`; writes `<reproduce>/paper/estimate.md`."""
    import time
    from pathlib import Path

    from rich.console import Console

    from semiemo.analysis.reproduce import reproduce_root, search_spaces_dir
    from semiemo.tune.runner import _load_data_once
    from semiemo.tune.space import load_spec

    console = Console(highlight=False)
    costs, cache = [], {}
    for path in sorted(search_spaces_dir().glob("*.yaml")):
        if names is not None and path.stem not in names:
            continue
        full = load_spec(path)
        if not full.in_all and names is None:
            continue
        paper, quick = load_spec(path, budget="paper"), load_spec(path, budget="quick")
        t0 = time.time()
        try:
            data = _load_data_once(quick, None)
            cost = estimate(paper, quick, data, measure_steps, cache)
        except Exception as e:  # e.g. a corpus not on this machine: said, not estimated
            cost = Cost(paper.name, 0, 0, 0, float("nan"), float("nan"), f"not estimated: {type(e).__name__}: "
                        f"{str(e).splitlines()[0][:120]}")
        costs.append(cost)
        root = Path(out or reproduce_root("paper"))
        root.mkdir(parents=True, exist_ok=True)
        write_estimate(root / "estimate.md", costs)   # after each analysis: an interrupted estimate keeps what it measured
        console.print(f"{cost.name}: {cost.steps:,} steps × {cost.s_per_step * 1000:.1f} ms = {cost.hours:,.1f} h "
                      f"({time.time() - t0:.0f} s to measure) {cost.note}")
    root = Path(out or reproduce_root("paper"))
    root.mkdir(parents=True, exist_ok=True)
    write_estimate(root / "estimate.md", costs)
    console.print(f"estimate: {root / 'estimate.md'}")
    return costs


def write_estimate(path: Any, costs: list[Cost]) -> None:
    import os
    import platform as _platform

    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores, {_platform.node()})"
    total = sum(c.hours for c in costs if c.hours == c.hours)
    lines = ["# `--budget paper`: estimated cost", "",
             f"Per-step costs measured on **{device}** (`semiemo reproduce --all --budget paper --estimate`); "
             "steps counted from each analysis's paper-budget spec (module doc of `analysis/paper_cost.py`). "
             "Run the same command on a GPU node to get GPU-hours there.", "",
             f"**Total: {total:,.1f} device-hours** (evaluation, featurization and scheduling not counted).", "",
             "| analysis | grid points | runs (points × seeds × folds) | optimizer steps | measured s/step | device-hours | note |",
             "|---|---|---|---|---|---|---|"]
    for c in costs:
        lines.append(f"| {c.name} | {c.points} | {c.runs:,} | {c.steps:,} | {c.s_per_step:.4f} | {c.hours:,.2f} | {c.note} |")
    Path_ = __import__("pathlib").Path
    Path_(path).write_text("\n".join(lines) + "\n")

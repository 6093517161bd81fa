"""The results record: one row per (seed, fold) run, appended to `<run_dir>/results.parquet`.

Columns: identity (experiment, corpus, features, method, protocol, seed, fold), data sizes, the test
metrics as `test_<name>` (confusion as JSON), the best validation metrics as `val_<name>`, training
facts (best_epoch, epochs_run, wall_time_s, samples_per_s, pseudo_label_accuracy), and the whole
validated config as JSON so a row can be re-run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

RESULTS_FILE = "results.parquet"


def flatten_metrics(metrics: dict[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in metrics.items():
        out[f"{prefix}{k}"] = json.dumps(v) if isinstance(v, (list, dict)) else v
    return out


def append_results(rows: list[dict[str, Any]] | pd.DataFrame, run_dir: str | Path) -> Path:
    """Append rows to `<run_dir>/results.parquet` (created when missing); returns the file."""
    path = Path(run_dir) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    new = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    if path.exists():
        new = pd.concat([pd.read_parquet(path), new], ignore_index=True)
    tmp = path.with_suffix(".parquet.tmp")
    new.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def read_results(run_dir: str | Path) -> pd.DataFrame:
    return pd.read_parquet(Path(run_dir) / RESULTS_FILE)


def collect_results(root: str | Path) -> pd.DataFrame:
    """Every results.parquet under `root` (recursively), concatenated, with its `run_dir`."""
    frames = []
    for path in sorted(Path(root).rglob(RESULTS_FILE)):
        df = pd.read_parquet(path)
        df["run_dir"] = str(path.parent)
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

"""The papers' numbers and described curve shapes (`paper_results.csv`), filtered for one analysis.

The table ships inside the package (`analysis/data/paper_results.csv`, a copy of
`../shared/reference/paper_results.csv`); `$SEMIEMO_PAPER_RESULTS` overrides it.
Each row of the CSV is one number or one described shape from a table/figure of the five papers;
its `seed` column names the paper's text file ("000_....txt"). A search space's `reference.rows`
lists filters; a row matching any filter belongs beside that analysis's results.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from semiemo.tune.space import Reference, RowFilter

COLUMNS = ["seed", "source", "dataset", "task", "setting", "method", "modality", "metric", "value", "note"]


def load_paper_results(path: str | Path | None = None) -> pd.DataFrame:
    """paper_results.csv as strings, plus a `paper` column ("000".."004")."""
    from semiemo.paths import paper_results_csv

    path = Path(path) if path else paper_results_csv()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: paper_results.csv not found; point SEMIEMO_PAPER_RESULTS at a copy "
                                "(the package ships one in semiemo/analysis/data/; reinstall if it is missing)")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {COLUMNS}")
    df["paper"] = df["seed"].str.slice(0, 3)
    return df


def _matches(df: pd.DataFrame, f: RowFilter) -> pd.Series:
    keep = pd.Series(True, index=df.index)
    if f.paper:
        keep &= df["paper"] == f.paper
    for col in ("source", "dataset", "task", "setting", "method", "modality", "metric"):
        want = getattr(f, col)
        if want is None:
            continue
        if isinstance(want, list):
            keep &= df[col].isin(want)
        else:
            keep &= df[col].str.contains(want, case=False, regex=False)
    return keep


def reference_rows(reference: Reference, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of `table` (default: paper_results.csv) matching any of `reference.rows`."""
    df = load_paper_results() if table is None else table
    if not reference.rows:
        return df.iloc[0:0]
    keep = pd.Series(False, index=df.index)
    for f in reference.rows:
        keep |= _matches(df, f)
    return df[keep].reset_index(drop=True)


def is_shape_row(value: str) -> bool:
    """A described curve (the paper gives a shape, not a number)."""
    try:
        float(value)
        return False
    except ValueError:
        return True

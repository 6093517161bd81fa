"""Which sources of paper_results.csv (a paper's table, figure or section) an analysis reproduces.

A source is covered when some search space's `reference.rows` match at least one of its rows; the
others must be listed in `analysis/data/uncovered_sources.yaml` with the reason (literature constants,
a corpus that is not here). `reproduce --list` and the `--all` index print both.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pandas as pd
import yaml


def uncovered_reasons() -> list[dict[str, str]]:
    text = files("semiemo.analysis").joinpath("data", "uncovered_sources.yaml").read_text()
    return [{"paper": str(r["paper"]), "source": str(r["source"]), "why": str(r["why"])} for r in yaml.safe_load(text)]


def source_coverage(spaces: Path | None = None) -> pd.DataFrame:
    """One row per (paper, source): rows in paper_results.csv, the analyses covering it, the reason if none."""
    from semiemo.analysis.reference import _matches, load_paper_results
    from semiemo.analysis.reproduce import search_spaces_dir
    from semiemo.tune.space import load_spec

    df = load_paper_results()
    by: dict[int, set[str]] = {i: set() for i in df.index}
    for path in sorted((spaces or search_spaces_dir()).glob("*.yaml")):
        try:
            spec = load_spec(path)
        except Exception:  # listed as invalid by list_analyses
            continue
        keep = pd.Series(False, index=df.index)
        for f in spec.reference.rows:
            keep |= _matches(df, f)
        for i in df.index[keep]:
            by[i].add(spec.name)
    reasons = {(r["paper"], r["source"]): r["why"] for r in uncovered_reasons()}
    rows = []
    for (paper, source), g in df.groupby(["paper", "source"], sort=True):
        names = sorted(set().union(*(by[i] for i in g.index)))
        rows.append({"paper": paper, "source": source, "rows": len(g), "analyses": ", ".join(names),
                     "why": "" if names else reasons.get((paper, source), "")})
    return pd.DataFrame(rows, columns=["paper", "source", "rows", "analyses", "why"])

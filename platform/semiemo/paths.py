"""Where semiemo keeps caches and outputs: $SEMIEMO_HOME (default ./semiemo_home) — never a download."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    p = Path(os.environ.get("SEMIEMO_HOME", "semiemo_home")).expanduser().resolve()
    p.mkdir(parents=True, exist_ok=True)
    return p


def feature_store_root() -> str:
    return os.environ.get("SEMIEMO_FEATURE_STORE", str(home() / "features"))


def runs_root() -> Path:
    p = home() / "runs"
    p.mkdir(parents=True, exist_ok=True)
    return p


def shared_data_root() -> Path:
    """../shared/data, or $SEMIEMO_SHARED_DATA."""
    env = os.environ.get("SEMIEMO_SHARED_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent.parent / "shared" / "data"
        if cand.is_dir():
            return cand
    return Path("../shared/data").resolve()


def casia_root() -> Path:
    return Path(os.environ.get("SEMIEMO_CASIA", str(shared_data_root() / "casia")))


def paper_results_csv() -> Path:
    """$SEMIEMO_PAPER_RESULTS, else the copy shipped inside the package (`semiemo/analysis/data/`).

    The papers' numbers are data the product needs at run time, so a fresh clone or a wheel has them
    without `../shared` beside it; the override points at an edited or newer table.
    """
    env = os.environ.get("SEMIEMO_PAPER_RESULTS")
    if env:
        return Path(env)
    from importlib.resources import files

    return Path(str(files("semiemo.analysis").joinpath("data", "paper_results.csv")))

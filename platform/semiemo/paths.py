"""Where semiemo's local files are: $SEMIEMO_HOME (default ./semiemo_home), the shared data, the papers'
results — never a download. Places under the storage root (features, runs, sweeps) are `semiemo.storage`'s."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The local workspace (logs, locks, staging, and outputs unless `$SEMIEMO_STORAGE` says otherwise).

    Default `./semiemo_home`, except inside a job's `--working-dir` upload (`.../runtime_resources/
    working_dir_files/_ray_pkg_<hash>/`): Ray deletes that folder and the next job gets another, so
    there the default is `~/semiemo_home`, which the next job on this node finds again."""
    env = os.environ.get("SEMIEMO_HOME")
    if env:
        p = Path(env).expanduser().resolve()
    elif in_ray_upload(Path.cwd()):
        p = Path.home() / "semiemo_home"
    else:
        p = Path("semiemo_home").resolve()
    p.mkdir(parents=True, exist_ok=True)
    return p


def in_ray_upload(path: Path) -> bool:
    """True inside a folder Ray made for a job's uploaded working directory or py_modules."""
    return any(part.startswith("_ray_pkg_") or part == "runtime_resources" for part in path.resolve().parts)


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

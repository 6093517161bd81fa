"""A fresh clone has no `../shared` beside it: the analyses still list, and a finished sweep's report
still sets our curve beside the paper's rows (paper_results.csv ships inside the package)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def _fresh_clone(tmp_path: Path) -> Path:
    """The package and search_spaces/ copied to a folder with no `shared/` in any ancestor."""
    clone = tmp_path / "clone"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "platform" / "semiemo", clone / "platform" / "semiemo", ignore=ignore)
    shutil.copytree(REPO / "search_spaces", clone / "search_spaces", ignore=ignore)
    assert not any((p / "shared").exists() for p in clone.parents), "the test needs a folder with no ../shared"
    return clone


def _env(clone: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SEMIEMO_PAPER_RESULTS", "SEMIEMO_SHARED_DATA", "SEMIEMO_SEARCH_SPACES", "SEMIEMO_CASIA")}
    env.update(PYTHONPATH=str(clone / "platform"), SEMIEMO_HOME=str(clone / "home"))
    return env


def _run(clone: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=clone, env=_env(clone), capture_output=True, text=True,
                          timeout=120)


def test_packaged_paper_results_match_the_shared_reference_when_it_is_present():
    shared = REPO.parent / "shared" / "reference" / "paper_results.csv"
    packaged = REPO / "platform" / "semiemo" / "analysis" / "data" / "paper_results.csv"
    assert packaged.is_file()
    if shared.is_file():
        pd.testing.assert_frame_equal(pd.read_csv(packaged, dtype=str), pd.read_csv(shared, dtype=str))


def test_pyproject_ships_the_paper_results_as_package_data():
    import tomllib

    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["semiemo"]
    package = REPO / "platform" / "semiemo"
    packaged = package / "analysis" / "data" / "paper_results.csv"
    assert any(packaged in set(package.glob(p)) for p in patterns), patterns


def test_reproduce_list_and_report_run_without_shared(tmp_path):
    """One interpreter (imports dominate the time): `semiemo reproduce --list` through the CLI's entry
    point, then the report step on a finished sweep's table."""
    clone = _fresh_clone(tmp_path)
    script = textwrap.dedent("""
        import sys
        import pandas as pd
        import semiemo
        from semiemo.cli import app
        from semiemo.analysis.reproduce import render, spec_path
        from semiemo.tune.space import load_spec

        assert semiemo.__file__.startswith(sys.argv[1]), semiemo.__file__
        app(["reproduce", "--list"], standalone_mode=False)
        spec = load_spec(spec_path("mmmd_lambda_u"))   # a paper analysis: its report has the paper's rows
        rows = [{"trial_id": f"t{i}", "status": "TERMINATED", "seed": seed, "fold": fold,
                 "method_params.unsup_weight": x, "train.lr": 1e-3, "val_ua": 0.5,
                 "test_ua": 0.4 + 0.1 * i - 0.01 * seed + 0.005 * fold}
                for i, x in enumerate([0.001, 0.01, 1.0]) for seed in range(3) for fold in range(2)]
        out = render(spec, pd.DataFrame(rows), out_dir=sys.argv[2])
        print("REPORT", out["report"])
    """)
    done = _run(clone, "-c", script, str(clone / "platform"), str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split("REPORT", 1)[0]
    assert "mmmd_lambda_u" in listed and "demo_sweep" in listed and "invalid" not in listed
    text = Path(done.stdout.split("REPORT", 1)[1].strip()).read_text()
    paper = text.split("## Paper (paper_results.csv)", 1)[1].split("## Verdict", 1)[0]
    assert "_no matching rows_" not in paper
    assert "| 000 | Fig. 5(a) |" in paper

"""A command that starts Ray keeps the terminal to semiemo's own lines when stdout is not a TTY: Ray's
INFO lines, progress dumps and token-auth warning go to a log file; `semiemo -v` brings them back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RAY_NOISE = ("Token authentication", "Starting execution of Dataset", "INFO streaming_executor")


def _featurize(tmp_path: Path, *flags: str) -> tuple[str, Path]:
    """`semiemo [flags] featurize` of a tiny corpus (the cheap `social` group) with stdout/stderr piped."""
    home = tmp_path / "home"
    env = {**os.environ, "SEMIEMO_HOME": str(home)}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run(
        [sys.executable, "-m", "semiemo.cli", *flags, "featurize", "--corpus",
         "synthetic:acted=12,wild_labeled=12,unlabeled=12,seed=7", "--features", "social",
         "--store", str(tmp_path / "store")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    terminal = done.stdout + done.stderr
    assert done.returncode == 0, terminal
    assert "social         ok=36" in terminal  # semiemo's own summary stays
    return terminal, home / "logs"


def test_ray_output_goes_to_the_log_file_not_the_terminal(tmp_path):
    terminal, logs = _featurize(tmp_path)
    for noise in RAY_NOISE:
        assert noise not in terminal, terminal
    assert " INFO " not in terminal and " WARNING " not in terminal, terminal
    (log_file,) = logs.glob("ray-*.log")
    assert f"Ray's logs: {log_file}" in terminal  # the user is told where they went
    text = log_file.read_text()
    for noise in RAY_NOISE:
        assert noise in text
    assert "workers' stdout/stderr, raylet and GCS logs: /" in text


@pytest.mark.slow
def test_verbose_flag_keeps_ray_output_in_the_terminal(tmp_path):
    terminal, logs = _featurize(tmp_path, "-v")
    assert "Starting execution of Dataset" in terminal and "Token authentication" in terminal
    assert not list(logs.glob("ray-*.log"))

"""A command that starts Ray keeps the terminal to semiemo's own lines when stdout is not a TTY: Ray's
INFO lines, progress dumps and token-auth warning go to a log file; `semiemo -v` brings them back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import textwrap

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
    for noise in RAY_NOISE[1:]:  # Ray prints the token-auth warning only on some starts (token already set up or not)
        assert noise in text
    assert "workers' stdout/stderr, raylet and GCS logs: /" in text


def test_ray_native_error_lines_on_stderr_go_to_the_log_file_and_everything_else_passes(tmp_path):
    """The driver's C++ core writes its ERROR lines straight to fd 2 (seen in the demo: an actor-restart
    advisory from Ray Data); routed, they land in the log file while tracebacks and the rest still show."""
    log_file = tmp_path / "logs" / "ray.log"
    script = textwrap.dedent(f"""
        import os, sys
        from semiemo.jobs.ray_logs import before_init, route_ray_logs
        route_ray_logs({str(log_file)!r})
        before_init()
        os.write(2, b"[2026-11-22 06:13:51,350 E 23891 23891] core_worker.cc:2465: Actor with class name X\\n")
        os.write(2, b"semiemo's own line on stderr\\n")
        os.write(2, b"[a bracketed line that is not Ray's]\\n")
        print("progress 3/10", end="", file=sys.stderr, flush=True)
        raise SystemExit("a user error still reaches the terminal")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "core_worker.cc" not in done.stderr
    for shown in ("semiemo's own line on stderr", "[a bracketed line that is not Ray's]", "progress 3/10",
                  "a user error still reaches the terminal"):
        assert shown in done.stderr, done.stderr
    assert "core_worker.cc:2465: Actor with class name X" in log_file.read_text()


def test_cluster_error_messages_keep_one_line_in_the_terminal_and_all_in_the_log(tmp_path):
    """An OOM kill reaches the driver as a many-line message printed on stdout whatever log_to_driver says
    (seen in the demo); routed, its first line shows once and the whole message is in the log file."""
    log_file = tmp_path / "ray.log"
    script = textwrap.dedent(f"""
        import ray._private.worker as ray_worker
        from semiemo.jobs.ray_logs import before_init, route_ray_logs
        route_ray_logs({str(log_file)!r})
        before_init()
        message = "Task _map_task failed due to oom.\\nObject store memory usage: [- objects spillable: 1\\n]"
        for _ in range(2):  # the same error twice: one terminal line
            ray_worker.print_to_stdstream({{"lines": [message], "pid": "raylet", "is_err": False}}, ignore_prefix=False)
        ray_worker.print_to_stdstream({{"lines": ["a worker line"], "pid": 1234, "is_err": False}}, ignore_prefix=False)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    terminal = done.stdout + done.stderr
    assert terminal.count("Ray: Task _map_task failed due to oom.") == 1
    assert "objects spillable" not in terminal
    assert "a worker line" in terminal  # anything but the cluster's error channel is left to Ray
    assert terminal.count("objects spillable") == 0 and log_file.read_text().count("objects spillable") == 2


def test_tune_prints_and_optuna_logs_go_to_the_log_file_in_a_silent_sweep(tmp_path):
    """Tune prints its experiment table even at verbose=0 and Optuna logs every study it creates (both seen
    in the demo's sweep step); routed, both land in the log file."""
    log_file = tmp_path / "ray.log"
    script = textwrap.dedent(f"""
        import optuna
        from semiemo.jobs.ray_logs import before_init, route_ray_logs, tune_prints_to_log
        route_ray_logs({str(log_file)!r})
        before_init()
        optuna.create_study(study_name="quiet_study")
        with tune_prints_to_log(silent=True):
            print("Configuration for experiment     demo_sweep")
        with tune_prints_to_log(silent=False):
            print("a sweep with verbose=1 keeps Tune's progress here")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    terminal = done.stdout + done.stderr
    assert "Configuration for experiment" not in terminal and "quiet_study" not in terminal, terminal
    assert "a sweep with verbose=1 keeps Tune's progress here" in terminal
    text = log_file.read_text()
    assert "Configuration for experiment" in text and "A new study created in memory with name: quiet_study" in text


@pytest.mark.slow
def test_verbose_flag_keeps_ray_output_in_the_terminal(tmp_path):
    terminal, logs = _featurize(tmp_path, "-v")
    assert "Starting execution of Dataset" in terminal and "Token authentication" in terminal
    assert not list(logs.glob("ray-*.log"))

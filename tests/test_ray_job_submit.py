"""`ray job submit` round trip against a real head started with `ray start --head` on loopback."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import urllib.error
import urllib.request
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.ray_cluster


def _wait_for_dashboard(address: str, head: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if head.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else "(no log)"
            raise AssertionError(f"ray start --head exited with {head.returncode}; its log ends:\n{tail}")
        try:
            with urllib.request.urlopen(f"{address}/api/version", timeout=5):
                return
        except urllib.error.HTTPError:  # answering (e.g. 401 before the token): it is up
            return
        except OSError:
            time.sleep(2)
    raise AssertionError(f"Ray dashboard at {address} did not come up within {timeout} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    if os.environ.get("RAY_ADDRESS"):
        pytest.skip("RAY_ADDRESS is set: this test starts its own head")
    ray = str(BIN / "ray")
    gcs_port, dash_port, agent_port = _free_port(), _free_port(), _free_port()
    # a short private dir: Ray's socket paths must stay under 107 bytes, and pytest's own temp dirs under
    # xdist (.../pytest-N/popen-gw0/rayhead0/session_<date>_<pid>/sockets/plasma_store) pass that
    temp_dir = Path(tempfile.mkdtemp(prefix="rh", dir="/tmp"))
    # Ray >= 2.59 turns token authentication on for local clusters: give head and client one token.
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(16),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    # --block keeps the head in one process group we own, so teardown stops only this cluster.
    head = subprocess.Popen(
        [ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={gcs_port}",
         "--dashboard-host=127.0.0.1", f"--dashboard-port={dash_port}", "--include-dashboard=true",
         f"--dashboard-agent-listen-port={agent_port}", "--num-cpus=2", f"--temp-dir={temp_dir}",
         "--disable-usage-stats"],
        stdout=open(temp_dir / "head.log", "w"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    address = f"http://127.0.0.1:{dash_port}"
    try:
        _wait_for_dashboard(address, head, temp_dir / "head.log")
        yield address, env
    finally:
        try:
            os.killpg(head.pid, signal.SIGTERM)
            head.wait(timeout=5)        # a throwaway head: its graceful stop took ~30 s of the suite
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:      # it had exited already (a failed start): its log says why
            pass
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_synthesize_job_round_trip(ray_head, tmp_path):
    address, env = ray_head
    out = tmp_path / "corpus"
    cmd = [
        str(BIN / "ray"), "job", "submit", f"--address={address}", f"--working-dir={REPO}",
        "--runtime-env-json", json.dumps({"env_vars": {"PYTHONPATH": "platform"}}),
        "--", "python", "jobs/synthesize.py", "--out", str(out),
        "--acted", "12", "--wild-labeled", "6", "--unlabeled", "10", "--write-audio", "--block-size", "8",
    ]
    deadline = time.monotonic() + 180
    while True:  # the head's job agent comes up a little after `ray start` returns
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        if "No available agent" not in done.stderr or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "succeeded" in (done.stdout + done.stderr).lower()
    summary = json.loads([line for line in done.stdout.splitlines() if line.startswith("{\"rows\"")][-1])
    assert summary["rows"] == 28 and summary["audio_files"] == 28
    manifest = pd.read_parquet(out / "manifest.parquet")
    assert len(manifest) == 28
    assert manifest["path"].map(lambda p: Path(p).is_file()).all()

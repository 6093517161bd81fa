"""With no address, `init_ray` starts its own local Ray even when a cluster's address is recorded on
this machine: Ray's bare `ray.init()` would join whatever `ray start` (or a test's cluster, or another
user's session) last wrote to `$RAY_TMPDIR/ray/ray_current_cluster`, and two runs side by side would
silently share one Ray — its CPUs, its object store, its failures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = ("from semiemo.jobs.ray_runtime import init_ray; import ray; init_ray(num_cpus=1); "
         "print('GCS', ray.get_runtime_context().gcs_address)")


def test_no_address_starts_a_local_ray_instead_of_joining_the_recorded_cluster():
    # a short private temp dir (Ray's socket paths must stay under 107 bytes) holding a recorded address
    # where nothing listens: joining it would fail, starting a local Ray succeeds
    tmp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    try:
        (tmp / "ray").mkdir()
        (tmp / "ray" / "ray_current_cluster").write_text("127.0.0.1:9")
        env = {**os.environ, "RAY_TMPDIR": str(tmp), "SEMIEMO_HOME": str(tmp / "home")}
        env.pop("RAY_ADDRESS", None)
        done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp, capture_output=True, text=True,
                              timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("GCS ")]
        address = line.split()[1]
        assert address and address != "127.0.0.1:9"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

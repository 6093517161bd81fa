"""Fixtures shared by the test modules."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def ray_local():
    """A real local Ray with 2 CPUs for one test module; shut down after it."""
    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    init_ray(num_cpus=2)
    yield
    shutdown_ray()


# ------------------------------------------------------------------------------------------------
# A real S3-compatible server and a real 2-node Ray cluster (tests/test_multinode_cluster.py)
# ------------------------------------------------------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_root(tmp_path_factory):
    """`moto_server` as its own process on loopback (as pandas' I/O tests run it), a bucket in it, and
    the AWS settings every process started afterwards (Ray's nodes, their workers) inherits.
    Yields the storage root URI `s3://semiemo-test/root`."""
    import shutil
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    # The moto_server of this interpreter's environment first: a `moto_server` on PATH may belong to
    # another Python (seen here: a pyenv shim to moto 5.2.1, whose multipart completion pyarrow rejects).
    exe = str(Path(sys.executable).with_name("moto_server"))
    if not Path(exe).exists():
        exe = shutil.which("moto_server") or exe
    if not Path(exe).exists():
        pytest.skip("moto_server is not installed (pip install 'moto[server]', part of semiemo[dev])")
    port = _free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "w")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=2)
            break
        except Exception:  # noqa: BLE001 — not up yet
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise AssertionError(f"moto_server did not start on {endpoint}; see {log.name}")
            time.sleep(0.3)
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                            "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EC2_METADATA_DISABLED")}
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    import pyarrow.fs as pafs

    fs = pafs.S3FileSystem(endpoint_override=endpoint, access_key="testing", secret_key="testing",
                           region="us-east-1", allow_bucket_creation=True)
    fs.create_dir("semiemo-test")
    try:
        yield "s3://semiemo-test/root"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def two_node_cluster(s3_root, tmp_path_factory):
    """Ray's own `ray.cluster_utils.Cluster` (as Ray tests itself): a head and one worker node, 1 CPU each,
    the storage root on the S3 server and a private $SEMIEMO_HOME; this process is its driver."""
    import ray
    from ray.cluster_utils import Cluster

    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray

    if ray.is_initialized():
        ray.shutdown()
    from pathlib import Path

    saved = {k: os.environ.get(k) for k in ("SEMIEMO_STORAGE", "SEMIEMO_HOME", "PYTHONPATH")}
    os.environ["SEMIEMO_STORAGE"] = s3_root
    os.environ["SEMIEMO_HOME"] = str(tmp_path_factory.mktemp("semiemo_home"))
    # the nodes' workers import the test modules (a sweep objective defined in a test) like this process
    tests_dir = str(Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (tests_dir, saved["PYTHONPATH"]) if p)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    # Cluster writes its address to /tmp/ray/ray_current_cluster, where any `ray.init()` on this machine
    # (another test session's) would join it: take it back at once
    from ray._common.utils import get_ray_address_file

    address_file = Path(get_ray_address_file(None))
    if address_file.is_file() and address_file.read_text().strip() == cluster.head_node.gcs_address:
        address_file.unlink()
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    init_ray(cluster.address)
    try:
        yield cluster, cluster.head_node, worker
    finally:
        shutdown_ray()
        cluster.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

"""The storage root (`semiemo.storage`): URIs kept intact, staging mirrors that find their way back to
the URI, a default outside Ray's working-dir upload, and the one-line refusal of a local root on a
multi-node cluster."""

from __future__ import annotations

import pytest

from semiemo import storage


def test_join_keeps_a_uri_and_its_query_intact():
    uri = "s3://bucket/root?endpoint_override=127.0.0.1:9000&scheme=http"
    assert storage.join(uri, "runs", "x") == "s3://bucket/root/runs/x?endpoint_override=127.0.0.1:9000&scheme=http"
    assert storage.join("s3://bucket/root/", "sweeps") == "s3://bucket/root/sweeps"


def test_a_staging_folder_maps_back_to_its_uri(monkeypatch, tmp_path):
    monkeypatch.setenv("SEMIEMO_HOME", str(tmp_path / "home"))
    uri = "s3://bucket/root/runs/exp"
    local = storage.local_dir(uri)
    assert local.is_relative_to(tmp_path / "home" / "staging")
    assert storage.remote_of(local / "tb" / "seed0") == "s3://bucket/root/runs/exp/tb/seed0"
    assert storage.remote_of(tmp_path / "elsewhere") == str(tmp_path / "elsewhere")


def test_writable_uploads_on_exit_and_pulls_back_next_time(monkeypatch, tmp_path):
    monkeypatch.setenv("SEMIEMO_HOME", str(tmp_path / "home"))
    uri = f"file://{tmp_path / 'bucket'}/runs/exp"
    with storage.writable(uri) as local:
        (local / "results.csv").write_text("a\n1\n")
        (local / "tb").mkdir()
        (local / "tb" / "events").write_text("x")
    assert (tmp_path / "bucket" / "runs" / "exp" / "tb" / "events").read_text() == "x"
    import shutil

    shutil.rmtree(storage.local_dir(uri))        # another machine: an empty staging folder
    with storage.writable(uri) as local:
        assert (local / "results.csv").read_text() == "a\n1\n"


def test_write_text_replaces_a_local_file_through_a_move_and_leaves_no_temporary(tmp_path):
    import os

    target = tmp_path / "trial" / "trial_result.json"
    storage.write_text(str(target), '{"a": 1}')
    before = os.stat(target).st_ino
    storage.write_text(f"file://{target}", '{"a": 2}')
    assert target.read_text() == '{"a": 2}' and os.listdir(target.parent) == ["trial_result.json"]
    assert os.stat(target).st_ino != before     # a new file moved into place, not the old one rewritten


def test_publish_uploads_a_staging_folder_to_the_uri_it_mirrors(monkeypatch, tmp_path):
    monkeypatch.setenv("SEMIEMO_HOME", str(tmp_path / "home"))
    uri = f"file://{tmp_path / 'bucket'}/runs/compare-x"
    local = storage.local_dir(uri)
    (local / "runs").mkdir(parents=True)
    (local / "comparison.md").write_text("# t\n")
    (local / "runs" / "results.csv").write_text("a\n")
    assert storage.publish(local) == uri
    assert (tmp_path / "bucket" / "runs" / "compare-x" / "runs" / "results.csv").read_text() == "a\n"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert storage.publish(plain) == str(plain)        # a local root: nothing to upload


def test_default_home_is_not_inside_a_ray_working_dir_upload(monkeypatch, tmp_path):
    from semiemo.paths import home

    upload = tmp_path / "session_1" / "runtime_resources" / "working_dir_files" / "_ray_pkg_abc123"
    upload.mkdir(parents=True)
    monkeypatch.delenv("SEMIEMO_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.chdir(upload)
    assert home() == tmp_path / "user" / "semiemo_home"


def test_a_local_root_on_several_nodes_is_refused_in_one_line(monkeypatch, tmp_path):
    monkeypatch.delenv("SEMIEMO_STORAGE_SHARED", raising=False)
    storage.check_reachable(1, str(tmp_path))                 # one node: a folder is fine
    storage.check_reachable(3, "s3://bucket/semiemo")         # a URI every node reaches
    with pytest.raises(storage.StorageNotShared) as e:
        storage.check_reachable(3, str(tmp_path))
    assert "\n" not in str(e.value) and "3 nodes" in str(e.value) and "SEMIEMO_STORAGE_SHARED=1" in str(e.value)
    monkeypatch.setenv("SEMIEMO_STORAGE_SHARED", "1")
    storage.check_reachable(3, str(tmp_path))


# ------------------------------------------------------------------------------------------------
# A bucket that does not exist, on a real S3 server (moto_server on loopback, tests/conftest.py)
# ------------------------------------------------------------------------------------------------

def _one_line_naming_the_bucket_and_the_fix(message: str, uri: str) -> None:
    assert "\n" not in message
    assert uri in message and "bucket 'no-such-bucket' does not exist" in message
    assert "create the bucket (s3://no-such-bucket)" in message and "AWS_ENDPOINT_URL" in message


def test_publishing_to_a_missing_bucket_names_it_the_fix_and_where_the_files_are_kept(s3_root, monkeypatch, tmp_path):
    monkeypatch.setenv("SEMIEMO_HOME", str(tmp_path / "home"))
    uri = "s3://no-such-bucket/root/runs/compare-x"
    local = storage.local_dir(uri)
    local.mkdir(parents=True)
    (local / "comparison.md").write_text("# t\n")
    with pytest.raises(storage.StorageUnreachable) as e:
        storage.publish(local)
    _one_line_naming_the_bucket_and_the_fix(str(e.value), uri)
    assert f"the files are kept in {local}" in str(e.value)
    assert (local / "comparison.md").exists()


def test_a_stage_writing_to_a_missing_bucket_stops_before_its_work(s3_root, monkeypatch, tmp_path):
    monkeypatch.setenv("SEMIEMO_HOME", str(tmp_path / "home"))
    uri = "s3://no-such-bucket/root/runs/exp"
    worked = []
    with pytest.raises(storage.StorageUnreachable) as e:
        with storage.writable(uri):
            worked.append(True)
    _one_line_naming_the_bucket_and_the_fix(str(e.value), uri)
    assert not worked
    with storage.writable(storage.join(s3_root, "runs", "exp")) as local:   # the bucket that exists: no complaint
        (local / "results.csv").write_text("a\n")
    assert storage.read_text(storage.join(s3_root, "runs", "exp", "results.csv")) == "a\n"


def test_a_feature_store_in_a_missing_bucket_is_refused_in_one_line(s3_root):
    from semiemo.features.store import FeatureStore

    with pytest.raises(storage.StorageUnreachable) as e:
        FeatureStore("s3://no-such-bucket/features")
    _one_line_naming_the_bucket_and_the_fix(str(e.value), "s3://no-such-bucket/features")
    assert FeatureStore(storage.join(s3_root, "features")).entries() == []


def test_the_cli_prints_the_missing_bucket_in_one_line_not_a_traceback(s3_root, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SEMIEMO_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "semiemo.cli", "features", "ls", "--store", "s3://no-such-bucket/f"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    first, *rest = done.stderr.strip().splitlines()
    assert first.startswith("semiemo: error: cannot write s3://no-such-bucket/f: bucket 'no-such-bucket' does not exist")
    assert rest == ["(set SEMIEMO_DEBUG=1 for the traceback)"] and "Traceback" not in done.stderr


def test_compare_with_a_missing_bucket_stops_before_running_any_method(s3_root, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from semiemo.cli import app

    monkeypatch.setenv("SEMIEMO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEMIEMO_STORAGE", "s3://no-such-bucket/root")
    result = CliRunner().invoke(app, ["compare", "--methods", "supervised", "--seeds", "1", "--epochs", "1"])
    assert isinstance(result.exception, storage.StorageUnreachable), result.output
    assert "bucket 'no-such-bucket' does not exist" in str(result.exception) and "done" not in result.output

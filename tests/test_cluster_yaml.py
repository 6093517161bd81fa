"""cluster.yaml is a config `ray up` accepts: Ray's own schema check, plus what semiemo needs of it
(GPU resources on the GPU node type, a CUDA torch there, the Makefile's install, a storage root,
token auth and a dashboard on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "cluster.yaml").read_text())


def test_cluster_yaml_passes_rays_cluster_config_schema(config):
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(config))    # what `ray up` does first: raises on an unknown key or a wrong type


def test_a_misspelled_key_is_caught_by_the_same_check(config):
    from ray.autoscaler._private.util import prepare_config, validate_config

    broken = {**config, "availabe_node_types": config["available_node_types"]}
    with pytest.raises(Exception, match="availabe_node_types"):
        validate_config(prepare_config(broken))


def test_gpu_node_type_declares_its_gpu_and_installs_a_cuda_torch(config):
    gpu = config["available_node_types"]["gpu_worker"]
    assert gpu["resources"]["GPU"] >= 1
    setup = " ".join(gpu["worker_setup_commands"])
    assert "TORCH_SPEC" in setup and "download.pytorch.org/whl/cu" in setup
    assert config["available_node_types"]["cpu_worker"]["resources"]["CPU"] > 0


def test_every_node_installs_semiemo_as_the_makefile_does(config):
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/pip install $(TORCH_SPEC)" in makefile and "$(BIN)/pip install -e ." in makefile
    setup = config["setup_commands"]
    torch_at = next(i for i, c in enumerate(setup) if "pip install \"torch==" in c)
    semiemo_at = next(i for i, c in enumerate(setup) if "pip install -e \".[postgres]\"" in c)
    assert torch_at < semiemo_at                # torch first, pinned; then the package
    assert any("SEMIEMO_STORAGE=s3://" in c for c in setup)


def test_dashboard_is_on_loopback_and_ray_token_auth_is_on(config):
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head and "0.0.0.0" not in head
    for cmd in config["head_start_ray_commands"] + config["worker_start_ray_commands"]:
        if " start " in cmd:
            assert cmd.startswith("RAY_AUTH_MODE=token ")
    assert "~/.ray/auth_token" in config["file_mounts"]

"""The one place semiemo starts or joins Ray.

Locally `ray.init()` needs no setup; on a cluster `RAY_ADDRESS` (or `--address`) is honoured, so
the same command runs on a laptop and under `ray job submit`. Where a command routed Ray's output to
a file (`semiemo.jobs.ray_logs`), that happens here, around `ray.init`. Joining a cluster checks that
its nodes can reach the storage root (`check_cluster`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def init_ray(address: str | None = None, *, num_cpus: int | None = None, quiet: bool = True, **kwargs: Any):
    """Start a local Ray, or connect to `address` / `$RAY_ADDRESS`. Idempotent."""
    import ray

    from semiemo.jobs import ray_logs

    if ray.is_initialized():
        return ray.get_runtime_context()
    address = address or os.environ.get("RAY_ADDRESS") or None
    init_kwargs: dict[str, Any] = {"ignore_reinit_error": True, **kwargs}
    for key, value in ray_logs.before_init().items():  # routed: Ray's loggers to a file, workers not forwarded
        init_kwargs.setdefault(key, value)
    if quiet:
        init_kwargs.setdefault("log_to_driver", True)
        init_kwargs.setdefault("include_dashboard", False)
        init_kwargs.setdefault("configure_logging", True)
        init_kwargs.setdefault("logging_level", "WARNING")
    if address:
        init_kwargs.pop("include_dashboard", None)
        ray.init(address=address, **init_kwargs)
        check_cluster()  # a local storage root on a multi-node cluster: refused here, before any work
    else:
        if num_cpus is not None:
            init_kwargs["num_cpus"] = num_cpus
        # Workers must import semiemo from the same source tree as the driver.
        init_kwargs.setdefault("runtime_env", _local_runtime_env())
        # "local", not None: with no address Ray joins the cluster last written to
        # $RAY_TMPDIR/ray/ray_current_cluster (any `ray start` or test cluster on this machine), so two
        # sessions side by side would share one Ray. A running cluster is joined only when asked for.
        ray.init(address="local", **init_kwargs)
    ray_logs.after_init()
    return ray.get_runtime_context()


# paths that may be given relative to the driver's working directory, which Ray's workers do not share
_PATH_VARS = ("SEMIEMO_STORAGE", "SEMIEMO_FEATURE_STORE", "SEMIEMO_CASIA", "SEMIEMO_SHARED_DATA", "SEMIEMO_PAPER_RESULTS",
              "SEMIEMO_SEARCH_SPACES", "SEMIEMO_TEXT_MODEL", "SEMIEMO_SSL_MODEL")


def _local_runtime_env() -> dict[str, Any]:
    """Workers see the driver's semiemo settings with absolute paths: a relative `$SEMIEMO_HOME`
    (default `./semiemo_home`) resolved in a worker's own directory would be another, empty store."""
    from semiemo.paths import home

    env_vars = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                "SEMIEMO_HOME": str(home())}
    for key, value in os.environ.items():
        if key.startswith("SEMIEMO_") and key != "SEMIEMO_HOME":
            local = key in _PATH_VARS and "://" not in value and value
            env_vars[key] = str(Path(value).expanduser().resolve()) if local else value
    return {"env_vars": env_vars}


def is_running() -> bool:
    """Whether this process has started or joined Ray."""
    import ray

    return ray.is_initialized()


def shutdown_ray() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


def check_cluster() -> None:
    """`storage.check_reachable` for the Ray cluster this process is connected to: a local storage root
    on a cluster of more than one live node is refused unless declared shared."""
    import ray

    from semiemo.storage import check_reachable

    if ray.is_initialized():
        check_reachable(sum(1 for n in ray.nodes() if n.get("Alive")))

"""A Ray cluster of several nodes on this one machine, joined for the length of a `with` block.

`ray.cluster_utils.Cluster` starts one raylet per node as a child process; work scheduled on it
crosses node boundaries (object transfers, per-node worker pools) as on a real cluster, which is
what `semiemo scale` measures with `nodes >= 2`. The caller decides about the storage root: every
node here is a process on this machine, so a local folder is shared by construction, but joining
still runs `ray_runtime.check_cluster`.
"""

from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def local_cluster(nodes: int, cpus_per_node: int) -> Iterator[str]:
    """Start `nodes` nodes of `cpus_per_node` CPUs each, join them (`init_ray`), yield the address;
    on exit leave Ray and stop every node. Refused when this process has already started Ray."""
    import ray
    from ray.cluster_utils import Cluster

    from semiemo.jobs.ray_runtime import init_ray

    if ray.is_initialized():
        raise RuntimeError("a cluster run needs Ray not yet initialised in this process; call ray.shutdown() first")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": cpus_per_node, "include_dashboard": False})
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=cpus_per_node)
        cluster.wait_for_nodes()
        init_ray(address=cluster.address)
        yield cluster.address
    finally:
        ray.shutdown()
        cluster.shutdown()

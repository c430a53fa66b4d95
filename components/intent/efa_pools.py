"""Stack-wide rules for EFA pools: every model whose replica spans nodes runs on a pool with
EFA and a cluster placement group, in a zone the VPC has."""
from __future__ import annotations

from typing import TYPE_CHECKING

from components.intent.base import Problems

if TYPE_CHECKING:
    from components.intent.stack import StackSpec


def check_efa_pools(spec: StackSpec, problems: Problems) -> None:
    assert spec.cluster is not None
    pools = spec.cluster.gpu_pools
    zones = spec.network.availability_zones
    for index, pool in enumerate(pools):
        if pool.resolved_placement == "cluster" and pool.zone_index >= zones:
            problems.add(
                ("cluster", "gpu_pools", index, "zone_index"),
                f"the VPC has {zones} zones (network.availability_zones), numbered 0 to {zones - 1}; "
                f"zone_index {pool.zone_index} names none of them",
                pool.zone_index,
            )
    for index, model in enumerate(spec.models):
        nodes = model.nodes_per_replica()
        if nodes <= 1:
            continue
        found = next(((i, p) for i, p in enumerate(pools) if model.instance_type in p.instance_types), None)
        if found is None:
            continue  # the capacity check names the missing pool
        pool_index, pool = found
        missing = [what for what, ok in (("efa: true", pool.efa), ("placement: cluster", pool.resolved_placement == "cluster")) if not ok]
        if missing:
            problems.add(
                ("cluster", "gpu_pools", pool_index),
                f"model {model.name} runs one replica across {nodes} nodes of pool {pool.name}: its pipeline "
                "stages exchange activations every step, so the pool needs EFA interfaces and one cluster "
                f"placement group; set {' and '.join(missing)}",
            )

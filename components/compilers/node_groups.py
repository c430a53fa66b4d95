"""Shapes of the managed node groups: AMI, labels, taints and the autoscaler's node templates."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from components.compilers.node_bootstrap import user_data
from components.intent.cluster import GpuNodePool, SystemNodeGroup
from components.intent.efa import EFA_NETWORK_CARDS, EFA_RESOURCE
from components.intent.instances import catalog

GPU_TAINT_KEY = "nvidia.com/gpu"
POOL_LABEL = "ml-serving/pool"
GPU_LABEL = "ml-serving/gpu"
# Cluster Autoscaler's AWS provider treats nodes with this label as GPU nodes and waits
# for the device plugin instead of scaling up twice (cloudprovider/aws README).
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
# The NVIDIA device plugin chart's default node affinity looks for this label.
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
TEMPLATE_PREFIX = "k8s.io/cluster-autoscaler/node-template"
# Nodes of EFA pools carry it: the EFA device plugin runs only there.
EFA_LABEL = "ml-serving/efa"

_AMI_TYPES = {"al2023_nvidia": "AL2023_x86_64_NVIDIA", "bottlerocket_nvidia": "BOTTLEROCKET_x86_64_NVIDIA"}
# Bottlerocket keeps the OS on /dev/xvda and images on the data volume /dev/xvdb.
_DATA_DEVICE = {"al2023_nvidia": "/dev/xvda", "bottlerocket_nvidia": "/dev/xvdb"}


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]

    @property
    def kubernetes_effect(self) -> str:
        return {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}[self.effect]


@dataclass(frozen=True)
class WarmPool:
    min_size: int
    pool_state: str
    reuse_on_scale_in: bool


@dataclass(frozen=True)
class EfaPlacement:
    """EFA interfaces (one per network card) and the one zone of a cluster placement group."""

    network_cards: int
    zone_index: int
    efa: bool = True


@dataclass(frozen=True)
class NodeGroupShape:
    key: str
    instance_types: list[str]
    ami_type: str
    capacity_type: Literal["ON_DEMAND", "SPOT"]
    min_size: int
    max_size: int
    disk_gib: int
    disk_device: str
    labels: dict[str, str]
    taints: list[Taint] = field(default_factory=list)
    template_tags: dict[str, str] = field(default_factory=dict)
    # EFA and/or a cluster placement group (None: nodes spread over every zone).
    placement: EfaPlacement | None = None
    warm_pool: WarmPool | None = None
    # Base64 MIME user data with the pool's cold-start levers (components/compilers/node_bootstrap.py).
    user_data: str | None = None


def system_shape(spec: SystemNodeGroup) -> NodeGroupShape:
    return NodeGroupShape(
        key="system",
        instance_types=list(spec.instance_types),
        ami_type="AL2023_x86_64_STANDARD",
        capacity_type="ON_DEMAND",
        min_size=spec.min_size,
        max_size=spec.max_size,
        disk_gib=spec.disk_gib,
        disk_device="/dev/xvda",
        labels={POOL_LABEL: "system"},
    )


def gpu_shape(pool: GpuNodePool) -> NodeGroupShape:
    itype = catalog().instances[pool.instance_types[0]]
    labels = {
        POOL_LABEL: pool.name,
        GPU_LABEL: "true",
        ACCELERATOR_LABEL: f"nvidia-{itype.gpu.lower()}",
        **pool.labels,
    }
    if pool.ami == "al2023_nvidia":
        # Bottlerocket ships its own device plugin; only AL2023 nodes get the chart's.
        labels[GPU_PRESENT_LABEL] = "true"
    taint = Taint(key=GPU_TAINT_KEY, value="true", effect="NO_SCHEDULE")
    # Scale from zero: with no node to look at, Cluster Autoscaler builds a template from
    # the instance type, DescribeNodegroup and these ASG tags.
    tags = {f"{TEMPLATE_PREFIX}/label/{k}": v for k, v in labels.items()}
    tags[f"{TEMPLATE_PREFIX}/taint/{taint.key}"] = f"{taint.value}:{taint.kubernetes_effect}"
    tags[f"{TEMPLATE_PREFIX}/resources/nvidia.com/gpu"] = str(itype.gpu_count)
    tags[f"{TEMPLATE_PREFIX}/resources/ephemeral-storage"] = f"{pool.disk_gib}Gi"
    _add_efa_labels(pool, labels, tags)
    warm = None
    if pool.warm_pool is not None:
        warm = WarmPool(
            min_size=pool.warm_pool.min_size,
            pool_state=pool.warm_pool.state.upper(),
            reuse_on_scale_in=pool.warm_pool.reuse_on_scale_in,
        )
    return NodeGroupShape(
        key=pool.name,
        instance_types=list(pool.instance_types),
        ami_type=_AMI_TYPES[pool.ami],
        capacity_type="SPOT" if pool.capacity_type == "spot" else "ON_DEMAND",
        min_size=pool.min_size,
        max_size=pool.max_size,
        disk_gib=pool.disk_gib,
        disk_device=_DATA_DEVICE[pool.ami],
        labels=labels,
        placement=cluster_placement(pool),
        taints=[taint],
        template_tags=tags,
        warm_pool=warm,
        user_data=user_data(pool),
    )


def _add_efa_labels(pool: GpuNodePool, labels: dict[str, str], tags: dict[str, str]) -> None:
    """An EFA pool's label, and its EFA devices in the autoscaler's node template: a group's
    pods request them, so a pool at zero nodes must be known to offer them."""
    if not pool.efa:
        return
    labels[EFA_LABEL] = "true"
    tags[f"{TEMPLATE_PREFIX}/label/{EFA_LABEL}"] = "true"
    tags[f"{TEMPLATE_PREFIX}/resources/{EFA_RESOURCE}"] = str(EFA_NETWORK_CARDS[pool.instance_types[0]])


def cluster_placement(pool: GpuNodePool) -> EfaPlacement | None:
    if pool.resolved_placement != "cluster":
        return None
    cards = EFA_NETWORK_CARDS[pool.instance_types[0]] if pool.efa else 0
    return EfaPlacement(network_cards=cards, zone_index=pool.zone_index, efa=pool.efa)


def efa_interfaces(network_cards: int) -> list[dict[str, object]]:
    """One EFA interface per network card: card 0 as the primary "efa" (EFA with ENA, the node's
    IP address), the rest "efa-only" (no IP address taken from the subnet). EC2 User Guide,
    "EFA configuration for P5 instances", use case 1: all 3,200 Gbps of EFA on one private IP.
    No subnet on any interface: EKS managed node groups refuse one in the launch template."""
    return [
        {
            "network_card_index": card,
            "device_index": 0 if card == 0 else 1,
            "interface_type": "efa" if card == 0 else "efa-only",
            "delete_on_termination": "true",
        }
        for card in range(network_cards)
    ]


# EKS node group names are at most 63 characters; the provider appends a 26-character unique
# suffix to a prefix (terraform-provider-aws eks/node_group.go: 63 - id.UniqueIDSuffixLength).
NODE_GROUP_PREFIX_MAX = 63 - 26


def node_group_name_prefix(key: str) -> str:
    """The node group's name prefix: its pool key, cut to fit, and a dash before the suffix."""
    return f"{key[: NODE_GROUP_PREFIX_MAX - 1].rstrip('-')}-"


def tag_resource_key(tag_key: str) -> str:
    """A stable, name-safe key for one ASG tag resource."""
    return re.sub(r"[^a-z0-9]+", "-", tag_key.removeprefix(TEMPLATE_PREFIX + "/").lower()).strip("-")

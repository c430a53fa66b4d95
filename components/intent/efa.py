"""Elastic Fabric Adapter facts for the GPU pools a replica may span nodes on.

Network cards per instance type (one EFA interface per card, as the EC2 User Guide recommends,
"Maximize network bandwidth on Amazon EC2 instances with multiple network cards",
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-acc-inst-types.html, read 2026-12-01):
- p5.48xlarge: 32 network cards, 3,200 Gbps (same page, "EFA configuration for P5 instances").
- p5en.48xlarge: 16 EFA devices (EFAv3, 3,200 Gbps; torchx named_resources_aws, meta-pytorch/torchx#995).
- p4d.24xlarge, p4de.24xlarge: 4 network cards, 4 x 100 Gbps EFA (EC2 P4 instance page).
All four are in aws/eks-charts aws-efa-k8s-device-plugin v0.5.30 values.yaml supportedInstanceLabels.

ml-serving turns EFA on only where a replica may span nodes (model.MULTINODE_INSTANCE_TYPES is
this table's keys): other EFA-capable types (g5.48xlarge, g6e.48xlarge, ...) serve single-node
replicas, which never leave NVLink.
"""
from __future__ import annotations

EFA_NETWORK_CARDS: dict[str, int] = {
    "p4d.24xlarge": 4,
    "p4de.24xlarge": 4,
    "p5.48xlarge": 32,
    "p5en.48xlarge": 16,
}

# The extended resource the EFA device plugin advertises, one device per EFA interface.
EFA_RESOURCE = "vpc.amazonaws.com/efa"


def efa_problem(instance_type: str) -> str | None:
    """Why a pool of `instance_type` cannot carry EFA interfaces, or None."""
    if instance_type in EFA_NETWORK_CARDS:
        return None
    supported = ", ".join(sorted(EFA_NETWORK_CARDS))
    return (
        f"ml-serving attaches EFA only to the instance types a replica may span nodes on ({supported}); "
        f"{instance_type} is not one of them, and a replica that fits one node never leaves its NVLink"
    )

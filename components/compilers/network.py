"""Address plan of the VPC: one public and one private subnet per availability zone."""
from __future__ import annotations

from dataclasses import dataclass

from components.intent.network import NetworkSpec


@dataclass(frozen=True)
class ZonePlan:
    zone_index: int
    public_cidr: str
    private_cidr: str
    has_nat: bool


def subnet_plan(spec: NetworkSpec) -> list[ZonePlan]:
    """Private subnets get an eighth of the VPC each (pods take VPC IPs under the VPC CNI);
    public subnets, which hold only NAT gateways and load balancers, share the last eighth."""
    eighths = list(spec.cidr.subnets(prefixlen_diff=3))
    public_blocks = list(eighths[-1].subnets(prefixlen_diff=3))
    plans = []
    for zone in range(spec.availability_zones):
        plans.append(
            ZonePlan(
                zone_index=zone,
                public_cidr=str(public_blocks[zone]),
                private_cidr=str(eighths[zone]),
                has_nat=spec.nat_gateways == "one_per_az" or zone == 0,
            )
        )
    return plans


def nat_zone_for(plan: ZonePlan, spec: NetworkSpec) -> int:
    """Which zone's NAT gateway a private subnet routes through."""
    return plan.zone_index if spec.nat_gateways == "one_per_az" else 0

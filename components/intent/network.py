"""The VPC a stack's nodes and endpoints live in."""
from __future__ import annotations

from ipaddress import IPv4Network
from typing import Literal

from pydantic import Field, field_validator

from components.intent.base import Cidr, Spec


class NetworkSpec(Spec):
    """One VPC: a public and a private subnet per availability zone, NAT and private endpoints."""

    cidr: Cidr = Field(
        "10.0.0.0/16", description="VPC address range, /16 to /20."
    )
    availability_zones: int = Field(
        2, ge=2, le=4, description="Zones to spread subnets across (prod needs 3)."
    )
    nat_gateways: Literal["single", "one_per_az"] = Field(
        "single",
        description="`single` (cheap, one zone's NAT failure cuts egress) or `one_per_az` (prod).",
    )

    @field_validator("cidr")
    @classmethod
    def _room_for_subnets(cls, cidr: IPv4Network) -> IPv4Network:
        if not 16 <= cidr.prefixlen <= 20:
            raise ValueError(
                f"use a /16 to /20 range so every zone gets a large private subnet; got /{cidr.prefixlen}"
            )
        return cidr

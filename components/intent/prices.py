"""Prices of everything but the GPU instances (data/prices.yaml), for the cost estimate."""
from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import Field, model_validator

from components.intent.base import Spec
from components.intent.instances import Source

Unit = Literal["usd_per_hour", "usd_per_gb", "usd_per_gib_month", "usd_per_gb_month", "usd_per_month"]
RateName = Literal[
    "eks_control_plane",
    "eks_extended_support",
    "nat_gateway",
    "nat_gateway_data",
    "public_ipv4",
    "interface_endpoint",
    "network_load_balancer",
    "ebs_gp3",
    "kms_key",
    "s3_standard",
]


class Rate(Spec):
    value: float = Field(gt=0)
    unit: Unit
    source: str


class Factor(Spec):
    value: float = Field(gt=0, le=1)
    source: str


class PriceList(Spec):
    region: str
    hours_per_month: int = Field(gt=0)
    sources: dict[str, Source]
    rates: dict[RateName, Rate]
    spot_price_factor: Factor
    cpu_instances: dict[str, Rate]

    @model_validator(mode="after")
    def _complete_and_cited(self) -> PriceList:
        missing_rates = sorted(set(RateName.__args__) - set(self.rates))  # type: ignore[attr-defined]
        if missing_rates:
            raise ValueError(f"prices.yaml lacks rates: {', '.join(missing_rates)}")
        cited = {r.source for r in self.rates.values()} | {r.source for r in self.cpu_instances.values()}
        cited.add(self.spot_price_factor.source)
        missing = sorted(cited - set(self.sources))
        if missing:
            raise ValueError(f"figures cite undefined sources: {', '.join(missing)}")
        hourly = [name for name, r in self.cpu_instances.items() if r.unit != "usd_per_hour"]
        if hourly:
            raise ValueError(f"CPU instance prices are per hour: {', '.join(hourly)}")
        return self

    def rate(self, name: RateName) -> Rate:
        return self.rates[name]

    def recalled(self) -> list[str]:
        """Sources not read for this file: figures to check before relying on them."""
        return sorted(key for key in self.sources if key.startswith("recalled-"))


@cache
def price_list() -> PriceList:
    text = resources.files("components.intent").joinpath("data/prices.yaml").read_text()
    return PriceList.model_validate(yaml.safe_load(text))

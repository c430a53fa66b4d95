"""Monthly cost of a stack, idle and busy.

Idle: every model at its floor (zero if it scales to zero) plus its scheduled floors averaged
over the day, warm capacity, and everything
that never scales to zero (control plane, NAT, endpoints, load balancer, system nodes, GPU
pools' minimum nodes, volumes). Busy: every model at max replicas plus its canary's share.
Prices: data/instances.yaml (GPU instances) and data/prices.yaml (the rest), each with its
source; where a stack's region is not the priced region the estimate says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from components.intent.cluster import GpuNodePool
from components.intent.cold_start import instance_store_gb
from components.intent.instances import catalog
from components.intent.model import ModelSpec
from components.intent.prices import price_list
from components.intent.scheduled_floors import MINUTES_PER_DAY
from components.intent.stack import StackSpec, canary_replicas

Target = Literal["eks", "sagemaker"]
Scenario = Literal["idle", "busy"]

# ecr.api and ecr.dkr interface endpoints in every zone (components/network.py).
INTERFACE_ENDPOINTS_PER_AZ = 2
# NAT traffic the estimate assumes: image pulls and weights go through the S3 and ECR
# endpoints, so only small egress is left. Shown in cost.json with its per-GB rate.
NAT_GB_PER_MONTH = 0.0


def instance_price_per_hour(instance_type: str, target: Target, spot: bool = False) -> float:
    """On-demand $/h of a GPU instance on EC2 (times the spot factor for spot nodes) or as ml.*.

    Where no SageMaker price was read, the EC2 price times the documented premium stands in."""
    facts = catalog()
    itype = facts.instances[instance_type]
    if target == "sagemaker":
        if itype.sagemaker_usd_per_hour is not None:
            return itype.sagemaker_usd_per_hour.value
        return itype.ec2_usd_per_hour.value * facts.sagemaker_price_premium.factor
    price = itype.ec2_usd_per_hour.value
    return price * price_list().spot_price_factor.value if spot else price


def instance_price_source(instance_type: str, target: Target, spot: bool = False) -> str:
    facts = catalog()
    itype = facts.instances[instance_type]
    if target == "sagemaker":
        if itype.sagemaker_usd_per_hour is not None:
            return itype.sagemaker_usd_per_hour.source
        return f"{itype.ec2_usd_per_hour.source} x {facts.sagemaker_price_premium.source}"
    if spot:
        return f"{itype.ec2_usd_per_hour.source} x {price_list().spot_price_factor.source}"
    return itype.ec2_usd_per_hour.source


@dataclass(frozen=True)
class LineItem:
    item: str
    quantity: float
    unit: str
    usd_per_unit_month: float | None
    source: str

    @property
    def monthly_usd(self) -> float | None:
        return None if self.usd_per_unit_month is None else self.quantity * self.usd_per_unit_month

    def as_json(self) -> dict[str, Any]:
        monthly = self.monthly_usd
        return {
            "item": self.item,
            "quantity": round(self.quantity, 4),
            "unit": self.unit,
            "usd_per_unit_month": None if self.usd_per_unit_month is None else round(self.usd_per_unit_month, 4),
            "monthly_usd": None if monthly is None else round(monthly, 2),
            "source": self.source,
        }


@dataclass(frozen=True)
class Estimate:
    items: list[LineItem]

    @property
    def total_usd(self) -> float:
        return sum(i.monthly_usd or 0.0 for i in self.items)

    @property
    def unpriced(self) -> list[str]:
        return [i.item for i in self.items if i.usd_per_unit_month is None]


@dataclass(frozen=True)
class ModelCost:
    idle_usd: float
    busy_usd: float
    idle_replicas: int
    busy_replicas: int
    usd_per_replica_hour: float


@dataclass(frozen=True)
class StackCost:
    stack_target: Target
    region: str
    idle: Estimate
    busy: Estimate
    models: dict[str, ModelCost]
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        prices = price_list()
        return {
            "currency": "USD",
            "hours_per_month": prices.hours_per_month,
            "priced_region": prices.region,
            "region": self.region,
            "target": self.stack_target,
            "idle": {
                "monthly_usd": round(self.idle.total_usd, 2),
                "items": [i.as_json() for i in self.idle.items],
                "unpriced": self.idle.unpriced,
            },
            "busy": {
                "monthly_usd": round(self.busy.total_usd, 2),
                "items": [i.as_json() for i in self.busy.items],
                "unpriced": self.busy.unpriced,
            },
            "models": {
                name: {
                    "idle_monthly_usd": round(m.idle_usd, 2),
                    "busy_monthly_usd": round(m.busy_usd, 2),
                    "idle_replicas": m.idle_replicas,
                    "busy_replicas": m.busy_replicas,
                    "usd_per_replica_hour": round(m.usd_per_replica_hour, 4),
                }
                for name, m in self.models.items()
            },
            "assumptions": {
                "nat_gb_per_month": NAT_GB_PER_MONTH,
                "nat_usd_per_gb": prices.rate("nat_gateway_data").value,
                "spot_price_factor": prices.spot_price_factor.value,
            },
            "recalled_sources": prices.recalled() + sorted(k for k in catalog().sources if k.startswith("recalled-")),
            "notes": self.notes,
        }


def replicas(model: ModelSpec, scenario: Scenario) -> int:
    """Replicas (GPU holders) a model runs: warm-pool placeholders and the canary included."""
    policy = model.autoscaling
    if scenario == "busy":
        return policy.max_replicas + canary_replicas(model)
    floor = 0 if policy.scale_to_zero else policy.min_replicas
    return floor + policy.warm_pool + (1 if model.canary is not None else 0)


def scheduled_replicas(model: ModelSpec) -> float:
    """Replicas a model's scheduled floors hold above its idle floor, averaged over a week (a
    weekday window counts its days): the windows raise the floor whatever the traffic, so an
    idle stack pays for them too."""
    policy = model.autoscaling
    if policy.schedule is None:
        return 0.0
    floor = 0 if policy.scale_to_zero else policy.min_replicas
    minutes = 0.0
    for window in policy.schedule.windows:
        start, end = window.span()
        minutes += max(0, window.min_replicas - floor) * (end - start) * window.days_per_week() / 7
    return minutes / MINUTES_PER_DAY


def _scheduled_items(spec: StackSpec) -> list[LineItem]:
    items = []
    for model in spec.models:
        extra = scheduled_replicas(model)
        if extra:
            items.append(
                LineItem(
                    f"Scheduled floors of {model.name} (replicas above its floor, averaged over the week)",
                    extra,
                    "replica",
                    _hourly(replica_hourly(model, spec.target, _on_spot(spec, model))),
                    "autoscaling.schedule windows: (window min_replicas - min_replicas) x hours / 24 x days / 7",
                )
            )
    return items


def _on_spot(spec: StackSpec, model: ModelSpec) -> bool:
    if spec.target != "eks" or spec.cluster is None:
        return False
    pool = next((p for p in spec.cluster.gpu_pools if model.instance_type in p.instance_types), None)
    return pool is not None and pool.capacity_type == "spot"


def _model_weights_gb(model: ModelSpec) -> float:
    versions = 2 if model.canary is not None else 1
    return model.weights_gib() * 1024**3 * versions / 1e9


def _hourly(rate: float) -> float:
    return rate * price_list().hours_per_month


def _pool_nodes(pool: GpuNodePool, models: list[ModelSpec], scenario: Scenario) -> int:
    gpus = sum(replicas(m, scenario) * m.gpus for m in models if m.instance_type in pool.instance_types)
    return min(pool.max_size, max(pool.min_size, math.ceil(gpus / pool.gpus_per_node)))


def _shared_items(spec: StackSpec) -> list[LineItem]:
    prices = price_list()
    items: list[LineItem] = []
    zones = spec.network.availability_zones
    nat = zones if spec.network.nat_gateways == "one_per_az" else 1
    nat_rate = prices.rate("nat_gateway")
    ipv4 = prices.rate("public_ipv4")
    items.append(LineItem("NAT gateway", nat, "gateway", _hourly(nat_rate.value), nat_rate.source))
    items.append(LineItem("NAT gateway public IPv4", nat, "address", _hourly(ipv4.value), ipv4.source))
    if NAT_GB_PER_MONTH:
        data = prices.rate("nat_gateway_data")
        items.append(LineItem("NAT data processed", NAT_GB_PER_MONTH, "GB", data.value, data.source))
    endpoint = prices.rate("interface_endpoint")
    items.append(
        LineItem("ECR interface endpoints", INTERFACE_ENDPOINTS_PER_AZ * zones, "endpoint-AZ", _hourly(endpoint.value), endpoint.source)
    )
    kms = prices.rate("kms_key")
    items.append(LineItem("KMS key", 1, "key", kms.value, kms.source))
    s3 = prices.rate("s3_standard")
    weights = sum(_model_weights_gb(m) for m in spec.models)
    if weights:
        items.append(LineItem("Model weights in S3", weights, "GB", s3.value, s3.source))
    return items


def _eks_items(spec: StackSpec, scenario: Scenario) -> list[LineItem]:
    assert spec.cluster is not None
    prices = price_list()
    facts = catalog()
    cluster = spec.cluster
    gp3 = prices.rate("ebs_gp3")
    plane = prices.rate("eks_control_plane")
    items = [LineItem("EKS control plane", 1, "cluster", _hourly(plane.value), plane.source)]
    system = cluster.system_nodes
    count = system.min_size if scenario == "idle" else system.max_size
    cpu_type = system.instance_types[0]
    cpu = prices.cpu_instances.get(cpu_type)
    items.append(
        LineItem(
            f"System nodes ({cpu_type})",
            count,
            "node",
            None if cpu is None else _hourly(cpu.value),
            "not in prices.yaml" if cpu is None else cpu.source,
        )
    )
    items.append(LineItem("System node volumes (gp3)", count * system.disk_gib, "GiB", gp3.value, gp3.source))
    for pool in cluster.gpu_pools:
        nodes = _pool_nodes(pool, spec.models, scenario)
        itype = pool.instance_types[0]
        spot = pool.capacity_type == "spot"
        label = f"GPU pool {pool.name} ({itype}{', spot' if spot else ''})"
        items.append(
            LineItem(label, nodes, "node", _hourly(instance_price_per_hour(itype, "eks", spot)), instance_price_source(itype, "eks", spot))
        )
        items.append(LineItem(f"GPU pool {pool.name} volumes (gp3)", nodes * pool.disk_gib, "GiB", gp3.value, gp3.source))
        if pool.cold_start.instance_store == "raid0":
            # Shown so the disks the levers use are visible; EC2 bills them with the instance.
            items.append(
                LineItem(
                    f"GPU pool {pool.name} NVMe instance store (RAID0)",
                    nodes * instance_store_gb(pool),
                    "GB",
                    0.0,
                    f"included in the instance price ({facts.instances[itype].instance_store_source})",
                )
            )
        warm = pool.warm_pool
        if warm is not None and warm.min_size:
            if warm.state == "running":
                items.append(
                    LineItem(
                        f"GPU pool {pool.name} warm instances (running)",
                        warm.min_size,
                        "node",
                        _hourly(facts.instances[itype].ec2_usd_per_hour.value),
                        facts.instances[itype].ec2_usd_per_hour.source,
                    )
                )
            items.append(
                LineItem(
                    f"GPU pool {pool.name} warm instance volumes ({warm.state})",
                    warm.min_size * pool.disk_gib,
                    "GiB",
                    gp3.value,
                    gp3.source,
                )
            )
    items.append(
        LineItem("Prometheus volume (gp3)", cluster.observability.storage_gib, "GiB", gp3.value, gp3.source)
    )
    nlb = prices.rate("network_load_balancer")
    items.append(LineItem("Gateway load balancer (internal NLB)", 1, "load balancer", _hourly(nlb.value), nlb.source))
    return items


def _sagemaker_items(spec: StackSpec, scenario: Scenario) -> list[LineItem]:
    items = []
    for model in spec.models:
        itype = model.instance_type
        items.append(
            LineItem(
                f"Endpoint {model.name} (ml.{itype})",
                replicas(model, scenario),
                "instance",
                _hourly(instance_price_per_hour(itype, "sagemaker")),
                instance_price_source(itype, "sagemaker"),
            )
        )
    return items


def _model_cost(spec: StackSpec, model: ModelSpec) -> ModelCost:
    hourly = replica_hourly(model, spec.target, _on_spot(spec, model))
    idle, busy = replicas(model, "idle"), replicas(model, "busy")
    month = price_list().hours_per_month
    return ModelCost((idle + scheduled_replicas(model)) * hourly * month, busy * hourly * month, idle, busy, hourly)


def replica_hourly(model: ModelSpec, target: Target, spot: bool = False) -> float:
    return replica_price_per_hour(model.instance_type, model.gpus, target, spot)


def replica_price_per_hour(instance_type: str, gpus: int, target: Target, spot: bool = False) -> float:
    """What one replica costs per hour: its share of an EC2 instance, or a whole ml.* instance."""
    price = instance_price_per_hour(instance_type, target, spot)
    if target == "sagemaker":
        return price
    return price * gpus / catalog().instances[instance_type].gpu_count


def stack_cost(spec: StackSpec) -> StackCost:
    prices = price_list()
    notes: list[str] = []
    if spec.region != prices.region:
        notes.append(f"prices are {prices.region} list prices; {spec.region} differs")
    if spec.target == "eks":
        notes.append(
            "EKS control plane at the standard-support rate; a Kubernetes version in extended support costs "
            f"${prices.rate('eks_extended_support').value}/h instead"
        )
    notes.append("not estimated: data transfer, CloudWatch, ECR storage, load balancer capacity units, request charges")
    if spec.target == "eks" and spec.cluster is not None:
        levers = [p.name for p in spec.cluster.gpu_pools if p.cold_start.image_pull == "soci_parallel" or p.cold_start.compile_cache == "node"]
        if levers:
            notes.append(
                f"cold-start levers on {', '.join(levers)}: SOCI parallel pull and the node compile cache cost nothing "
                "beyond the nodes and root volumes above (the cache is a directory on the root volume or the instance store)"
            )
    estimates = {}
    for scenario in ("idle", "busy"):
        specific = _eks_items(spec, scenario) if spec.target == "eks" else _sagemaker_items(spec, scenario)
        scheduled = _scheduled_items(spec) if scenario == "idle" else []
        estimates[scenario] = Estimate(specific + scheduled + _shared_items(spec))
    models = {m.name: _model_cost(spec, m) for m in spec.models}
    return StackCost(spec.target, spec.region, estimates["idle"], estimates["busy"], models, notes)

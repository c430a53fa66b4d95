"""One model's policies on one trace: the stack's own, the common defaults and the oracle."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from components.intent.cluster import GpuNodePool
from components.intent.instances import catalog
from components.intent.model import ModelSpec
from components.intent.stack import StackSpec
from components.planning import platform
from components.planning.capacity import (
    DEFAULT_TRITON_PROFILE,
    DEFAULT_WORKLOAD,
    Capacity,
    ServiceModel,
    TritonProfile,
    Workload,
    capacity,
    service_model,
)
from components.planning.cost import instance_price_per_hour, replica_price_per_hour
from components.planning.controllers import Controller, Oracle, baselines, stack_policy
from components.planning.simulator import Result, Simulation
from components.planning.traces import FLUID_MAX_ARRIVALS, MAX_ARRIVALS, Trace, TraceKind, relative

Target = Literal["eks", "sagemaker"]


@dataclass(frozen=True)
class ModelSetup:
    """Everything the simulator needs to know about one model of one stack."""

    model: ModelSpec
    target: Target
    pool: GpuNodePool | None
    service: ServiceModel
    capacity: Capacity
    timings: platform.Timings
    usd_per_replica_hour: float
    usd_per_node_hour: float
    node_gpus: int
    workload: Workload

    @property
    def ceiling_rps(self) -> float:
        """What max_replicas serve at the SLO."""
        return self.capacity.requests_per_s * self.model.autoscaling.max_replicas


def setup(
    spec: StackSpec,
    model: ModelSpec,
    workload: Workload = DEFAULT_WORKLOAD,
    triton: TritonProfile = DEFAULT_TRITON_PROFILE,
    timing_scale: float = 1.0,
) -> ModelSetup:
    target: Target = spec.target
    pool = None
    if target == "eks" and spec.cluster is not None:
        pool = next((p for p in spec.cluster.gpu_pools if model.instance_type in p.instance_types), None)
    spot = pool is not None and pool.capacity_type == "spot"
    service = service_model(model, workload, triton)
    times = platform.timings(model, target, pool)
    if timing_scale != 1.0:
        times = times.scaled(timing_scale)
    itype = catalog().instances[model.instance_type]
    return ModelSetup(
        model=model,
        target=target,
        pool=pool,
        service=service,
        capacity=capacity(service, model.slo, workload),
        timings=times,
        usd_per_replica_hour=replica_price_per_hour(model.instance_type, model.gpus, target, spot),
        usd_per_node_hour=instance_price_per_hour(model.instance_type, target, spot),
        node_gpus=itype.gpu_count,
        workload=workload,
    )


def simulate(setup: ModelSetup, controller: Controller, trace: Trace, instant: bool = False) -> Result:
    return Simulation(
        setup.model,
        setup.target,
        controller,
        trace,
        setup.service,
        setup.timings,
        setup.usd_per_replica_hour,
        setup.usd_per_node_hour,
        pool=setup.pool,
        node_gpus=setup.node_gpus,
        instant=instant,
        workload=setup.workload,
    ).run()


@dataclass(frozen=True)
class Comparison:
    setup: ModelSetup
    trace: Trace
    results: list[Result]
    oracle: Result
    fluid_gpu_hours: float = field(default=0.0)

    @property
    def stack(self) -> Result:
        return self.results[0]


def default_trace(
    setup: ModelSetup, kind: TraceKind = "bursty", duration_s: float = 3600, seed: int = 0, max_arrivals: int = MAX_ARRIVALS
) -> Trace:
    limit = max_arrivals if setup.service.runtime == "vllm" else min(max_arrivals, FLUID_MAX_ARRIVALS)
    return relative(kind, setup.ceiling_rps, duration_s, setup.workload, seed, limit)


def compare(setup: ModelSetup, trace: Trace, with_baselines: bool = True) -> Comparison:
    """The stack's policy, then (optionally) the defaults, then the oracle, on one trace."""
    policy = setup.model.autoscaling
    mu = setup.capacity.requests_per_s
    controllers = [stack_policy(policy, setup.target)]
    if with_baselines:
        controllers += baselines(policy, mu)
    results = [simulate(setup, c, trace) for c in controllers]
    per_minute = trace.rate_per_bucket(60.0)
    oracle = simulate(setup, Oracle(trace.peak_per_bucket(60.0), mu), trace, instant=True)
    # Fluid bound: ∫ λ/μ dt x GPUs per replica (performance-facts §5).
    fluid = sum(rate / mu * 60 for rate in per_minute) / 3600 * setup.model.gpus if mu else 0.0
    return Comparison(setup, trace, results, oracle, fluid)

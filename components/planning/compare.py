"""One model's policies on one trace: the stack's own, the common defaults and the oracle."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Literal

from components.intent.cluster import GpuNodePool
from components.intent.instances import catalog
from components.intent.model import ModelSpec
from components.intent.profile import Profile
from components.intent.stack import StackSpec
from components.planning import platform
from components.planning.calibration import calibrated_service, calibrated_timings
from components.planning.capacity import (
    DEFAULT_TRITON_PROFILE,
    DEFAULT_WORKLOAD,
    Capacity,
    ServiceModel,
    TritonProfile,
    Workload,
    capacity,
    peak_throughput,
    service_model,
)
from components.planning.controllers import (
    Controller,
    OpeningLoad,
    baselines,
    stack_policy_on,
)
from components.planning.cost import instance_price_per_hour, replica_price_per_hour
from components.planning.mix_capacity import MixCeiling, mean_shape_time_in_system_s, mix_ceiling
from components.planning.oracle import OracleResult, oracle
from components.planning.simulator import Result, Simulation
from components.planning.traces import FLUID_MAX_ARRIVALS, MAX_ARRIVALS, Trace, TraceKind, as_fluid, declared, relative

Target = Literal["eks", "sagemaker"]
# The trace the preview and `make simulate` replay when told nothing else: kind, seconds, seed.
DEFAULT_TRACE: tuple[TraceKind, float, int] = ("bursty", 1800.0, 0)


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
    # max_replicas measured on a recorded trace's own request mix, and the recording
    # (with_mix_ceiling): smaller fleets are measured on it when asked for (fleet).
    mix: MixCeiling | None = None
    mix_trace: Trace | None = field(default=None, compare=False, repr=False)
    # Fleets measured so far, per instance: replace() and forked workers start without them
    # (the measurement is seeded, so measuring again gives the same figure).
    _fleets: dict[int, MixCeiling] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def ceiling_rps(self) -> float:
        """What max_replicas serve at the SLO: as measured on the recorded trace's mix where
        one was, else max_replicas x μ_SLO at the mean shape."""
        if self.mix is not None and self.mix.met:
            return self.mix.requests_per_s
        return self.capacity.requests_per_s * self.model.autoscaling.max_replicas

    @property
    def pooled_replica_rps(self) -> float:
        """A replica's share of max_replicas' measured ceiling on the mix, else μ_SLO. Pooled
        replicas absorb each other's long requests, so this is above one replica's own rate."""
        if self.mix is not None and self.mix.met:
            return self.mix.per_replica_rps
        return self.capacity.requests_per_s

    @property
    def replica_rps(self) -> float:
        """One replica's rate at the SLO: measured alone on the recording's mix where one was
        replayed (what a load test on one instance with the users' requests finds), else μ_SLO.
        Where one replica meets the target at no rate a replay judges, the lowest rate that
        missed bounds it."""
        alone = self.fleet(1)
        if alone is None:
            return self.capacity.requests_per_s
        if alone.met:
            return alone.requests_per_s
        if alone.missed_rps is not None:
            return min(alone.missed_rps, self.pooled_replica_rps)
        return self.capacity.requests_per_s

    @property
    def replica_latency_s(self) -> float:
        """A request's mean time in the system on one replica at replica_rps: measured alone
        on the recording's mix where that replay met the target, else at μ_SLO on the mean
        shape."""
        alone = self.fleet(1)
        if alone is not None and alone.latency_s is not None:
            return alone.latency_s
        return self.mean_shape_latency_s

    @cached_property
    def mean_shape_latency_s(self) -> float:
        """A request's mean time in the system on one replica at μ_SLO, replayed on the mean
        shape (mix_capacity.mean_shape_time_in_system_s) once per instance, like the fleets;
        the planner's tail TTFT plus decode for Triton, which the fluid replay serves."""
        replayed = mean_shape_time_in_system_s(self)
        return self.capacity.latency_s if replayed is None else replayed

    def _measured_mix(self) -> bool:
        return self.mix is not None and self.mix.met and self.mix_trace is not None

    def fleet(self, replicas: int) -> MixCeiling | None:
        """What `replicas` serve at the SLO on the recording's mix, measured once; None
        without a measured mix."""
        if not self._measured_mix():
            return None
        assert self.mix is not None and self.mix_trace is not None
        if replicas == self.mix.replicas:
            return self.mix
        if replicas not in self._fleets:
            measured = mix_ceiling(self, self.mix_trace, replicas=replicas)
            assert measured is not None  # a measured mix is a vLLM model's with rows
            self._fleets[replicas] = measured
        return self._fleets[replicas]

    def fleet_rps(self, replicas: int) -> float | None:
        """The rate `replicas` serve on the mix (0 where none met the target); None without one."""
        measured = self.fleet(replicas)
        return None if measured is None else measured.requests_per_s

    def replicas_for(self, rps: float) -> int | None:
        """The fewest replicas whose measured ceiling on the mix covers `rps` (max_replicas
        where none does); None without a measured mix. The bisection takes more replicas to
        never serve less, which held on every fleet of the Azure samples measured (1-8)."""
        if not self._measured_mix():
            return None
        if rps <= 0:
            return 0
        low, high = 1, self.model.autoscaling.max_replicas
        while low < high:
            middle = (low + high) // 2
            if (self.fleet_rps(middle) or 0.0) >= rps:
                high = middle
            else:
                low = middle + 1
        return low


def setup(
    spec: StackSpec,
    model: ModelSpec,
    workload: Workload = DEFAULT_WORKLOAD,
    triton: TritonProfile = DEFAULT_TRITON_PROFILE,
    timing_scale: float = 1.0,
    profile: Profile | None = None,
) -> ModelSetup:
    """`profile`: what a load test measured on this model (PROFILE=), replacing the
    assumed step times, prefill speed, Triton batch latency and cold-start stages."""
    target: Target = spec.target
    pool = None
    if target == "eks" and spec.cluster is not None:
        pool = next((p for p in spec.cluster.gpu_pools if model.instance_type in p.instance_types), None)
    spot = pool is not None and pool.capacity_type == "spot"
    service = service_model(model, workload, triton)
    times = platform.timings(model, target, pool)
    if profile is not None:
        service = calibrated_service(service, profile)
        times = calibrated_timings(times, profile)
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


def with_mix_ceiling(setup: ModelSetup, recorded: Trace) -> ModelSetup:
    """`setup` with max_replicas' ceiling measured on a recording's own request mix
    (mix_capacity.py)."""
    return replace(setup, mix=mix_ceiling(setup, recorded), mix_trace=recorded)


# The opening load is the trace's mean rate over its first minutes.
OPENING_S = 300.0


def opening_load(setup: ModelSetup, trace: Trace) -> OpeningLoad:
    span = min(OPENING_S, max(trace.duration_s, 1.0))
    if trace.intensity is not None:
        seconds = trace.intensity[: max(1, int(span))]
        rps = sum(seconds) / len(seconds)
    else:
        rps = sum(1 for t in trace.arrivals if t < span) * trace.weight / span
    return OpeningLoad(
        rps=rps,
        # μ_SLO sizes the queue-depth steady state only where no mix was measured; on a
        # recording the fleets measured on its mix do (replicas_needed).
        capacity_rps=setup.capacity.requests_per_s,
        replicas_needed=setup.replicas_for(rps),
        time_in_system=lambda: setup.replica_latency_s,
        runtime=setup.service.runtime,
        cpu_request=platform.cpu_request(setup.model),
    )


def simulate(
    setup: ModelSetup, controller: Controller, trace: Trace, instant: bool = False, warm: bool = True,
    abandon_below: float | None = None,
) -> Result:
    """One replay. `warm`: the run starts at the controller's steady state for the trace's
    opening load (a model that has been serving), not at its floor. `abandon_below`: stop
    once the attainment cannot reach this share (Simulation)."""
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
        opening=opening_load(setup, trace) if warm else None,
        abandon_below=abandon_below,
    ).run()


@dataclass(frozen=True)
class Comparison:
    setup: ModelSetup
    trace: Trace
    results: list[Result]
    bound: OracleResult
    fluid_gpu_hours: float = field(default=0.0)

    @property
    def oracle(self) -> Result:
        return self.bound.result

    @property
    def stack(self) -> Result:
        return self.results[0]


def default_trace(
    setup: ModelSetup, kind: TraceKind = "bursty", duration_s: float = 3600, seed: int = 0, max_arrivals: int = MAX_ARRIVALS
) -> Trace:
    # LLM traces replay one arrival per request; the fluid Triton replay reads the intensity.
    limit = max_arrivals if setup.service.runtime == "vllm" else min(max_arrivals, FLUID_MAX_ARRIVALS)
    return relative(kind, setup.ceiling_rps, duration_s, setup.workload, seed, limit)


def foresight(setup: ModelSetup, trace: Trace) -> OracleResult:
    """The oracle on `trace`: its schedules replayed on an instant fleet, the bisection's
    failing ones stopped early (oracle.py)."""
    return oracle(setup, trace, lambda controller, below=None: simulate(setup, controller, trace, instant=True, abandon_below=below))


def compare(setup: ModelSetup, trace: Trace, with_baselines: bool = True) -> Comparison:
    """The stack's policy, then (optionally) the defaults, then the oracle, on one trace."""
    policy = setup.model.autoscaling
    controllers = [stack_policy_on(policy, setup.target, trace)]
    if with_baselines:
        controllers += baselines(policy, setup.replica_rps)
    results = [simulate(setup, c, trace) for c in controllers]
    per_minute = trace.rate_per_bucket(60.0)
    bound = foresight(setup, trace)
    # Fluid bound: ∫ λ/μ_max dt x GPUs per replica (performance-facts §5), μ_max being the
    # replica's throughput at its fullest batch: no schedule serves the trace with less.
    top = peak_throughput(setup.service, setup.workload)
    fluid = sum(rate / top * 60 for rate in per_minute) / 3600 * setup.model.gpus if top else 0.0
    return Comparison(setup, trace, results, bound, fluid)


def declared_setup(
    spec: StackSpec, model: ModelSpec, duration_s: float | None, seed: int, root: Path | None = None, timing_scale: float = 1.0,
    profile: Profile | None = None, open_day_only: bool = False,
) -> tuple[ModelSetup, Trace] | None:
    """The model's setup and trace from its declared traffic (None without one): the plan
    assumes the traffic's own request shape, and a CSV's ceiling is measured on its own mix.
    `duration_s` None: the shape's own (a day for a diurnal one); `open_day_only`: one open
    day of a declared week (traces.declared)."""
    traffic = model.traffic
    if traffic is None:
        return None
    limit = MAX_ARRIVALS if model.runtime == "vllm" else FLUID_MAX_ARRIVALS
    trace = declared(traffic, duration_s, seed, limit, root, open_day_only)
    if model.runtime == "triton":
        trace = as_fluid(trace)
    if traffic.csv is None:
        return setup(spec, model, Workload(traffic.prompt_tokens, traffic.output_tokens), timing_scale=timing_scale,
                     profile=profile), trace
    planned = setup(spec, model, trace.workload(), timing_scale=timing_scale, profile=profile)
    return with_mix_ceiling(planned, trace), trace

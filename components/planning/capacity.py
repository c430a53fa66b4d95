"""Capacity planner: what one replica of a model holds and serves, and which instance type
serves it cheapest at its SLO.

Memory follows vLLM's own accounting (components.intent.memory). Speed follows the roofline
of performance-facts §3.1: a decode step reads the weights and every running sequence's KV
cache once, at about 75 % of the GPU's memory bandwidth (measured 74-77 % on A100 and H100);
prefill is compute-bound. Instance types are ranked by cost per served token at the SLO,
never by hourly price: the L4 is 20 % cheaper than the A10G per hour but decodes at half the
speed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from components.intent.architecture import LlmArchitecture
from components.intent.instances import catalog
from components.intent.memory import GIB, MemoryPlan, plan_memory
from components.intent.model import ModelSpec
from components.intent.slo import Slo
from components.planning.cost import replica_price_per_hour

# Share of peak memory bandwidth a decode step reaches (performance-facts §3.1: 74-77 %).
DECODE_BANDWIDTH_EFFICIENCY = 0.75
# Share of peak tensor FLOPS a prefill reaches. An assumption: calibrate with `vllm bench serve`.
PREFILL_COMPUTE_EFFICIENCY = 0.5

Target = Literal["eks", "sagemaker"]


@dataclass(frozen=True)
class Workload:
    """The request shape the planner and the trace generators assume (means)."""

    prompt_tokens: int = 1024
    output_tokens: int = 256

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    @property
    def mean_context(self) -> float:
        """Context a running sequence holds on average: its prompt plus half its output."""
        return self.prompt_tokens + self.output_tokens / 2


DEFAULT_WORKLOAD = Workload()


@dataclass(frozen=True)
class TritonProfile:
    """Batch latency of one Triton model instance: base + per_item x batch. The stack file
    does not say how heavy a Triton model is, so this is an assumption (a small encoder such
    as DistilBERT on one GPU); measure yours with perf_analyzer and pass it in."""

    base_ms: float = 4.0
    per_item_ms: float = 0.5

    def latency_s(self, batch: int) -> float:
        return (self.base_ms + self.per_item_ms * batch) / 1000


DEFAULT_TRITON_PROFILE = TritonProfile()


@dataclass(frozen=True)
class ServiceModel:
    """How fast one replica works, as a function of how many requests it serves at once."""

    runtime: Literal["vllm", "triton"]
    slots: int
    kv_tokens: int
    weights_bytes_per_gpu: float = 0.0
    active_fraction: float = 1.0
    kv_bytes_per_token_per_gpu: int = 0
    bandwidth_bytes_s: float = 1.0
    prefill_s_per_token: float = 0.0
    instances: int = 1
    max_batch: int = 1
    triton: TritonProfile = DEFAULT_TRITON_PROFILE
    # vLLM V1's per-step token budget (max_num_batched_tokens): decodes and prefill chunks share it.
    max_batched_tokens: int = 2048
    # A measured decode step (PROFILE=, components/planning/calibration.py): seconds per step
    # at any batch, and seconds per sequence per token of context, replacing the roofline.
    measured_step: tuple[float, float] | None = None

    def mixed_step_s(self, batch: int, context: float) -> float:
        """vLLM V1 chunked prefill: one step decoding `batch` sequences while a prefill chunk
        fills the rest of the token budget. The roofline's slower side sets it: reading the
        weights and KV (the decode step) or computing every token of the step."""
        chunk = max(1, self.max_batched_tokens - batch)
        return max(self.step_s(batch, context), (chunk + batch) * self.prefill_s_per_token)

    def prefill_stretch(self, batch: int, context: float) -> float:
        """How much longer a prefill takes in chunks beside `batch` decodes than alone."""
        chunk = max(1, self.max_batched_tokens - batch)
        if self.prefill_s_per_token <= 0:
            return 1.0
        return self.mixed_step_s(batch, context) / (chunk * self.prefill_s_per_token)

    def step_s(self, batch: int, context: float) -> float:
        """vLLM: one decode step (one token for every running sequence), i.e. TPOT.

        A mixture of experts reads only the experts its batch routes to: 1-(1-a)^B of the
        weights for an active share a (all of them for a dense model)."""
        batch = max(batch, 1)
        if self.measured_step is not None:
            base, per_context_token = self.measured_step
            return base + batch * context * per_context_token
        read = 1.0 - (1.0 - self.active_fraction) ** batch
        weights = self.weights_bytes_per_gpu * read
        return (weights + batch * context * self.kv_bytes_per_token_per_gpu) / (
            DECODE_BANDWIDTH_EFFICIENCY * self.bandwidth_bytes_s
        )

    def prefill_s(self, prompt_tokens: float) -> float:
        return prompt_tokens * self.prefill_s_per_token

    def triton_latency_s(self, in_service: int) -> float:
        """Triton: a dynamic batch of the requests in service, spread over the model instances."""
        per_instance = max(1, math.ceil(in_service / self.instances))
        return self.triton.latency_s(min(per_instance, self.max_batch))


@dataclass(frozen=True)
class Capacity:
    """The most a replica serves while its requests still meet the SLO (μ_SLO)."""

    requests_per_s: float
    batch: int
    tpot_s: float
    ttft_s: float
    latency_s: float
    meets_slo: bool

    def output_tokens_per_s(self, workload: Workload) -> float:
        return self.requests_per_s * workload.output_tokens


# vLLM's default max_num_batched_tokens for its API server (vllm/engine/arg_utils.py,
# get_batch_defaults): 8192 on GPUs with at least 70 GiB that are not A100s, 2048 elsewhere.
LARGE_GPU_MIB = 70 * 1024
LARGE_BATCHED_TOKENS = 8192
SMALL_BATCHED_TOKENS = 2048


def default_max_batched_tokens(gpu: str) -> int:
    facts = catalog().gpus[gpu]
    large = facts.memory_mib >= LARGE_GPU_MIB and "a100" not in gpu.lower()
    return LARGE_BATCHED_TOKENS if large else SMALL_BATCHED_TOKENS


def _vllm_service(
    arch: LlmArchitecture, plan: MemoryPlan, gpu: str, max_num_seqs: int, workload: Workload
) -> ServiceModel:
    facts = catalog().gpus[gpu]
    active = (arch.active_params_billion or arch.params_billion) / arch.params_billion
    flops = 2 * (arch.active_params_billion or arch.params_billion) * 1e9 / plan.tensor_parallel
    slots = max(1, min(max_num_seqs, plan.kv_tokens // max(1, min(workload.tokens, plan.max_model_len))))
    return ServiceModel(
        max_batched_tokens=default_max_batched_tokens(gpu),
        runtime="vllm",
        slots=slots,
        kv_tokens=plan.kv_tokens,
        weights_bytes_per_gpu=plan.weights_bytes_per_gpu,
        active_fraction=active,
        kv_bytes_per_token_per_gpu=plan.kv_bytes_per_token_per_gpu,
        bandwidth_bytes_s=facts.bandwidth_gb_s * 1e9,
        prefill_s_per_token=flops / (PREFILL_COMPUTE_EFFICIENCY * facts.bf16_tflops * 1e12),
    )


def service_model(
    model: ModelSpec, workload: Workload = DEFAULT_WORKLOAD, triton: TritonProfile = DEFAULT_TRITON_PROFILE
) -> ServiceModel:
    """The service model of one replica of `model` as the stack declares it."""
    itype = catalog().instances[model.instance_type]
    if model.vllm is not None:
        plan = model.memory_plan()
        assert plan is not None
        return _vllm_service(model.vllm.resolved_architecture(), plan, itype.gpu, model.vllm.max_num_seqs, workload)
    assert model.triton is not None
    instances = max(1, sum(g.count for g in model.triton.instance_groups))
    max_batch = max(1, model.triton.max_batch_size)
    return ServiceModel(
        runtime="triton", slots=instances * max_batch, kv_tokens=0, instances=instances, max_batch=max_batch, triton=triton
    )


# Share of requests a p99 objective lets miss: the tail the planner sizes queueing waits for.
TAIL_SHARE = 0.01
# Fixed-point iterations for a replica's mean batch (it stops once the batch moves less than
# BATCH_TOLERANCE), and bisection steps on the rate (2^-24 of the replica's peak throughput).
BATCH_ITERATIONS = 60
BATCH_TOLERANCE = 1e-6
RATE_STEPS = 24


@dataclass(frozen=True)
class OperatingPoint:
    """One vLLM replica in steady state at `rate` requests per second (vLLM V1 chunked prefill).

    A request holds a slot for its prefill, its first step and `output - 1` decode steps.
    Prefills run in chunks under max_num_batched_tokens beside the decodes: for the share
    `prefill_busy` of the time a step is a mixed one (mixed_step_s), otherwise a plain decode
    step, so the time-average TPOT is 1 / (busy / mixed + (1 - busy) / step). The mean batch
    is Little's law over that holding time (a fixed point)."""

    rate: float
    batch: float
    prefill_s: float
    prefill_busy: float
    step_s: float
    tpot_s: float
    hold_s: float


def operating_point(service: ServiceModel, workload: Workload, rate: float) -> OperatingPoint | None:
    """The steady state at `rate`, or None where the replica cannot hold it (its slots or its
    prefill compute saturate)."""
    ctx, decode_steps = workload.mean_context, max(1, workload.output_tokens - 1)
    alone = service.prefill_s(workload.prompt_tokens)
    batch = 1.0
    for _ in range(BATCH_ITERATIONS):
        at = min(float(service.slots), max(1.0, batch))
        step = service.step_s(at, ctx)  # type: ignore[arg-type]
        mixed = service.mixed_step_s(at, ctx)  # type: ignore[arg-type]
        # prefill_stretch, with the mixed step computed once.
        chunk = max(1.0, service.max_batched_tokens - at)
        prefill = alone * (mixed / (chunk * service.prefill_s_per_token) if service.prefill_s_per_token > 0 else 1.0)
        busy = rate * prefill
        if busy >= 1.0:
            return None
        tpot = 1.0 / ((1.0 - busy) / step + busy / mixed)
        hold = prefill + step + decode_steps * tpot
        previous, batch = batch, rate * hold
        if abs(batch - previous) < BATCH_TOLERANCE:
            break
    if batch >= service.slots:
        return None
    return OperatingPoint(rate, batch, prefill, busy, step, tpot, hold)


def _erlang_c(servers: int, load: float) -> float:
    """Probability that a request finds every slot taken (M/M/c, offered load in slots)."""
    if load >= servers:
        return 1.0
    blocked = 1.0
    for k in range(1, servers + 1):
        blocked = load * blocked / (k + load * blocked)
    return servers * blocked / (servers - load * (1 - blocked))


def tail_ttft_s(service: ServiceModel, point: OperatingPoint) -> float:
    """TTFT of the slowest TAIL_SHARE of requests: the wait for a free slot (Erlang C over
    max_num_seqs slots held `hold_s` each), the wait behind other prefills (M/M/1 at the
    prefill share), then its own prefill and first step."""
    waiting = _erlang_c(service.slots, point.batch)
    slot_wait = (
        point.hold_s / (service.slots - point.batch) * math.log(waiting / TAIL_SHARE) if waiting > TAIL_SHARE else 0.0
    )
    busy = point.prefill_busy
    prefill_wait = point.prefill_s / (1 - busy) * math.log(busy / TAIL_SHARE) if busy > TAIL_SHARE else 0.0
    return slot_wait + prefill_wait + point.prefill_s + point.step_s


def _vllm_capacity(service: ServiceModel, slo: Slo, workload: Workload) -> Capacity:
    decode_steps = max(1, workload.output_tokens - 1)

    def judged(point: OperatingPoint) -> Capacity:
        # A request's TPOT averages its whole decode, so the mean batch sets it; TTFT is
        # sized for the tail, where queueing for slots and prefills shows.
        ttft = tail_ttft_s(service, point)
        latency = ttft + decode_steps * point.tpot_s
        ok = (
            (slo.tpot_p99_ms is None or point.tpot_s * 1000 <= slo.tpot_p99_ms)
            and (slo.ttft_p99_ms is None or ttft * 1000 <= slo.ttft_p99_ms)
            and (slo.latency_p99_ms is None or latency * 1000 <= slo.latency_p99_ms)
        )
        return Capacity(point.rate, max(1, round(point.batch)), point.tpot_s, ttft, latency, ok)

    low, high = 0.0, peak_throughput(service, workload)
    best: Capacity | None = None
    for _ in range(RATE_STEPS):
        rate = (low + high) / 2
        point = operating_point(service, workload, rate)
        result = judged(point) if point is not None else None
        if result is not None and result.meets_slo:
            best, low = result, rate
        else:
            high = rate
    if best is not None:
        return best
    # No rate meets the SLO: report one request at a time, flagged.
    alone = operating_point(service, workload, 0.0)
    assert alone is not None
    lone = judged(alone)
    return Capacity(1.0 / alone.hold_s, 1, lone.tpot_s, lone.ttft_s, lone.latency_s, False)


def capacity(service: ServiceModel, slo: Slo, workload: Workload = DEFAULT_WORKLOAD) -> Capacity:
    """μ_SLO: the largest request rate one replica sustains with every objective met.

    vLLM: the steady state of chunked prefill at each rate (operating_point), TPOT at the
    mean batch and TTFT at its p99 tail (tail_ttft_s); the largest rate that meets the SLO,
    found by bisection (every objective only worsens with the rate). Triton: the batch whose
    latency meets the objective at the highest rate."""
    if service.runtime == "vllm":
        return _vllm_capacity(service, slo, workload)
    best: Capacity | None = None
    fallback: Capacity | None = None
    for batch in range(1, service.slots + 1):
        latency = service.triton_latency_s(batch)
        rate = batch / latency
        candidate = Capacity(rate, batch, 0.0, latency, latency, True)
        ok = slo.latency_p99_ms is None or latency * 1000 <= slo.latency_p99_ms
        if fallback is None:
            fallback = Capacity(rate, batch, 0.0, latency, latency, False)
        if ok and (best is None or rate > best.requests_per_s):
            best = candidate
    assert fallback is not None
    return best or fallback


def peak_throughput(service: ServiceModel, workload: Workload = DEFAULT_WORKLOAD) -> float:
    """The most requests per second a replica completes at any batch size, SLO or not: what
    the fluid lower bound divides by (μ_SLO is lower, so it bounds nothing). An upper bound:
    decodes at plain step speed however much prefill runs beside them, and never more
    prefills than the GPU computes."""
    if service.runtime != "vllm":
        return service.instances * service.max_batch / service.triton.latency_s(service.max_batch)
    prefill = service.prefill_s(workload.prompt_tokens)
    decode_steps = max(1, workload.output_tokens - 1)
    best = max(
        batch / (decode_steps * service.step_s(batch, workload.mean_context) + prefill)
        for batch in range(1, service.slots + 1)
    )
    return min(best, 1.0 / prefill) if prefill > 0 else best


@dataclass(frozen=True)
class Candidate:
    """One way to serve a model: an instance type and a tensor-parallel degree."""

    instance_type: str
    gpu: str
    gpus: int
    replicas_per_instance: int
    fits: bool
    kv_tokens: int
    weights_gib_per_gpu: float
    requests_per_s: float
    output_tokens_per_s: float
    usd_per_replica_hour: float
    meets_slo: bool

    @property
    def usd_per_million_tokens(self) -> float:
        """Cost of a million output tokens with the replica busy at μ_SLO."""
        if not self.fits or self.output_tokens_per_s <= 0:
            return math.inf
        return self.usd_per_replica_hour / (self.output_tokens_per_s * 3600) * 1e6


def rank_instances(
    model: ModelSpec, target: Target = "eks", workload: Workload = DEFAULT_WORKLOAD
) -> list[Candidate]:
    """Every instance type and tensor-parallel degree that could serve a vLLM model, cheapest
    per served token at the SLO first. For each GPU model and count only the cheapest size
    is kept: larger sizes add CPUs and RAM, not GPU memory (performance-facts §1.4 rule 5)."""
    engine = model.vllm
    if engine is None:
        return []
    arch = engine.resolved_architecture()
    facts = catalog()
    cheapest: dict[tuple[str, int], str] = {}
    for name, itype in facts.instances.items():
        if target == "sagemaker" and not itype.sagemaker:
            continue
        key = (itype.gpu, itype.gpu_count)
        if key not in cheapest or itype.ec2_usd_per_hour.value < facts.instances[cheapest[key]].ec2_usd_per_hour.value:
            cheapest[key] = name
    candidates: list[Candidate] = []
    for name in sorted(cheapest.values()):
        itype = facts.instances[name]
        degrees = [itype.gpu_count] if target == "sagemaker" else [d for d in (1, 2, 4, 8) if itype.gpu_count % d == 0]
        for tp in degrees:
            plan = plan_memory(
                arch,
                gpu=itype.gpu,
                gpu_memory_mib=facts.gpus[itype.gpu].memory_mib,
                tensor_parallel=tp,
                max_model_len=engine.max_model_len,
                utilization=engine.gpu_memory_utilization,
                dtype=engine.dtype,
                quantization=engine.quantization,
                kv_cache_dtype=engine.kv_cache_dtype,
            )
            fits = plan.fits
            if fits:
                service = _vllm_service(arch, plan, itype.gpu, engine.max_num_seqs, workload)
                cap = capacity(service, model.slo, workload)
                rate, tokens, meets = cap.requests_per_s, cap.output_tokens_per_s(workload), cap.meets_slo
            else:
                rate, tokens, meets = 0.0, 0.0, False
            candidates.append(
                Candidate(
                    instance_type=name,
                    gpu=itype.gpu,
                    gpus=tp,
                    replicas_per_instance=itype.gpu_count // tp,
                    fits=fits,
                    kv_tokens=plan.kv_tokens,
                    weights_gib_per_gpu=plan.weights_bytes_per_gpu / GIB,
                    requests_per_s=rate,
                    output_tokens_per_s=tokens,
                    usd_per_replica_hour=replica_price_per_hour(name, tp, target),
                    meets_slo=meets,
                )
            )
    # Ties (tensor parallelism scales bandwidth linearly in this model) go to fewer GPUs per
    # replica: finer steps when scaling.
    return sorted(candidates, key=lambda c: (not c.meets_slo, round(c.usd_per_million_tokens, 6), c.gpus))

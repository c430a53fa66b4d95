"""What a fleet serves at the SLO target on a recorded trace's own request mix, measured by
replaying it. max_replicas' ceiling is what TRACE_PEAK scales a recording to, and its share
per replica is what the tuner's request-rate targets are shares of. One replica's is a load
test on one instance with the users' requests: what the SageMaker-invocations default and
the tuner's concurrency targets read. The fewest replicas whose ceiling covers the opening
load is the warm start (compare.py).

μ_SLO (capacity.py) plans one replica at the trace's mean request shape. On a wide mix that
is far off, both ways. The Azure 2023 code trace (2,037-token mean prompts, a p95 of 7,385,
28-token outputs) put 7k-token prefills in front of short requests: two dev L4 replicas held
the p99 TTFT objective to 0.21 req/s where μ_SLO × 2 said 0.65, so "0.7 × the ceiling" was
twice what max_replicas could serve and every policy looked infeasible. On the conversation
trace the mean-shape plan is conservative (1.05-1.48 × lower than measured: pooled replicas
absorb the tail Erlang C sizes for one).

The measurement: Poisson arrivals at a steady rate, each request's prompt, output and cached
tokens drawn (with replacement) from the trace's own rows, on a fleet that is up from the
start (the oracle's instant fleet, every objective judged per request as in any replay).
The highest rate whose attainment reaches the target is found by bisection. Every rate
replays the same uniform draws scaled by the rate (common random numbers), so attainment only
moves with the rate, not with the draw. The replay at that rate also gives the mean time in
the system, so the requests a replica holds in flight there (Little's law): the mean shape's
figure (its tail TTFT plus its decode) put them 1.2-2.1 × higher on the Azure samples.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.planning.controllers import Schedule
from components.planning.oracle import BUCKET_S, attainment_target
from components.planning.servability import unservable
from components.planning.traces import Trace

if TYPE_CHECKING:
    from components.planning.compare import ModelSetup

# Each replay is long enough for the target's tail to be many requests (1 % of 3,000 is 30),
# and for queues to settle, within a bound that keeps a slow model's low rate affordable.
MIN_REQUESTS = 3_000
MIN_DURATION_S = 600.0
MAX_DURATION_S = 8 * 3600.0
# A rate so low that even the longest replay holds fewer requests than this judges nothing (a
# few dozen draws can all miss the unservable tail by chance): it is never taken as met.
MIN_JUDGED_REQUESTS = 1_000
# So no rate below this is ever judged met.
LOWEST_JUDGED_RPS = MIN_JUDGED_REQUESTS / MAX_DURATION_S
# Bisection steps on the rate (2^-10 of the bracket), and doublings of the bracket when even
# its top meets the target.
STEPS = 10
EXPANSIONS = 4
# The bracket starts at this many times max_replicas × μ_SLO.
BRACKET_OVER_MEAN_SHAPE = 2.0
MIX_SEED = 0x313C


@dataclass(frozen=True)
class MixCeiling:
    """A fleet's measured rate on the trace's mix, beside the mean-shape plan's."""

    requests_per_s: float
    replicas: int
    mean_shape_rps: float  # replicas × μ_SLO
    # The lowest rate a replay judged (MIN_JUDGED_REQUESTS or more) that missed the target:
    # where none met it, the fleet's rate is below this one.
    missed_rps: float | None = None
    # The mean time in the system (arrival to last token) of the requests the replay at
    # requests_per_s finished; None where no rate met the target (only met rates keep one).
    latency_s: float | None = None

    @property
    def inflight_per_replica(self) -> float | None:
        """Requests a replica holds in flight at the measured rate (Little's law on the replay's
        own times in the system); None where no rate met the target."""
        return None if self.latency_s is None else self.per_replica_rps * self.latency_s

    @property
    def per_replica_rps(self) -> float:
        return self.requests_per_s / max(1, self.replicas)

    @property
    def met(self) -> bool:
        """Whether any rate met the target (none does where too many requests are unservable)."""
        return self.requests_per_s > 0

    def describe(self) -> str:
        fleet = f"{self.replicas} replica{'' if self.replicas == 1 else 's'}"
        if not self.met:
            return (
                f"ceiling on this trace's mix: no steady rate meets the SLO target on {fleet}; "
                f"the plan keeps the mean shape's {self.mean_shape_rps:.3g} req/s"
            )
        return (
            f"ceiling on this trace's mix: {self.requests_per_s:.3g} req/s on {fleet} "
            f"(measured: Poisson arrivals with the trace's own lengths; the mean shape's μ_SLO x "
            f"{self.replicas} is {self.mean_shape_rps:.3g}, {self.requests_per_s / self.mean_shape_rps:.2f}x)"
        )


def mixed_arrivals(trace: Trace, rate: float, duration_s: float, seed: int = MIX_SEED) -> Trace:
    """Poisson arrivals at `rate` for `duration_s`, each a row of `trace` drawn at random.
    The same seed draws the same unit gaps and rows at any rate (only the spacing scales)."""
    rng = random.Random(seed)
    rows = len(trace.arrivals)
    cached = trace.cached
    arrivals: list[float] = []
    prompts: list[int] = []
    outputs: list[int] = []
    hits: list[int] = []
    t = 0.0
    while True:
        t += rng.expovariate(1.0) / rate
        pick = rng.randrange(rows)
        if t >= duration_s:
            break
        arrivals.append(t)
        prompts.append(trace.prompts[pick])
        outputs.append(trace.outputs[pick])
        hits.append(cached[pick] if cached is not None else 0)
    return Trace(
        f"{trace.name}'s mix at a steady {rate:.3g} req/s",
        duration_s,
        tuple(arrivals),
        tuple(prompts),
        tuple(outputs),
        cached=tuple(hits) if cached is not None else None,
        seed=seed,
    )


def mean_shape_time_in_system_s(setup: ModelSetup) -> float | None:
    """A request's mean time in the system on one replica at μ_SLO, replayed on Poisson
    arrivals of the plan's mean shape (the rows `mixed_arrivals` draws are all that shape);
    None for a model the fluid replay serves. The planner's figure for it (its tail TTFT plus
    the decode) put 1.2-2.5 × as many requests in flight as this replay holds on the shipped
    LLMs."""
    if setup.service.runtime != "vllm":
        return None
    from components.planning.compare import simulate

    rate = setup.capacity.requests_per_s
    duration = replay_duration_s(rate)
    shape = Trace("the mean shape", 1.0, (0.0,), (setup.workload.prompt_tokens,), (setup.workload.output_tokens,))
    fleet = Schedule((1,) * (math.ceil(duration / BUCKET_S) + 1), BUCKET_S, "one replica")
    result = simulate(setup, fleet, mixed_arrivals(shape, rate, duration), instant=True, warm=False)
    return result.mean_latency_s if math.isfinite(result.mean_latency_s) else None


def replay_duration_s(rate: float) -> float:
    return min(MAX_DURATION_S, max(MIN_DURATION_S, MIN_REQUESTS / rate))


def mix_ceiling(setup: ModelSetup, trace: Trace, steps: int = STEPS, replicas: int | None = None) -> MixCeiling | None:
    """The measured ceiling of `replicas` (default: `setup`'s max_replicas) on `trace`'s
    request mix; None for a trace without rows or a model the fluid replay serves (Triton: no
    lengths). On one replica it is a load test on one instance with the trace's requests."""
    if setup.service.runtime != "vllm" or not trace.arrivals:
        return None
    from components.planning.compare import simulate

    replicas = setup.model.autoscaling.max_replicas if replicas is None else replicas
    mean_shape = setup.capacity.requests_per_s * replicas
    target = attainment_target(setup.model.slo)
    alone = unservable(setup, trace)
    if alone is not None and alone.blocks(target):
        # More of the mix misses the SLO alone on an idle replica than the target allows.
        return MixCeiling(0.0, replicas, mean_shape)

    missed: list[float] = []
    latencies: dict[float, float] = {}

    def meets(rate: float) -> bool:
        duration = replay_duration_s(rate)
        if rate * duration < MIN_JUDGED_REQUESTS:
            return False
        fleet = Schedule((replicas,) * (math.ceil(duration / BUCKET_S) + 1), BUCKET_S, "fixed fleet")
        # No warm start: the fixed fleet ignores it, and reading it would measure this mix
        # again (the warm start is sized from these ceilings).
        result = simulate(setup, fleet, mixed_arrivals(trace, rate, duration), instant=True, warm=False,
                          abandon_below=target)
        if result.attainment < target:
            missed.append(rate)
            return False
        latencies[rate] = result.mean_latency_s
        return True

    def measured(rate: float) -> MixCeiling:
        if rate == 0 and meets(LOWEST_JUDGED_RPS):
            # Every rate the bisection tried missed or was too low to judge, and the lowest
            # rate a replay judges meets: the fleet serves at least that.
            rate = LOWEST_JUDGED_RPS
        return MixCeiling(rate, replicas, mean_shape, min(missed) if missed else None, latencies.get(rate))

    low, high = 0.0, max(BRACKET_OVER_MEAN_SHAPE * mean_shape, 1e-6)
    for _ in range(EXPANSIONS):
        if not meets(high):
            break
        low, high = high, 2 * high
    else:
        return measured(low)
    for _ in range(steps):
        middle = (low + high) / 2
        if meets(middle):
            low = middle
        else:
            high = middle
    return measured(low)

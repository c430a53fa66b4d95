"""The yardstick: the cheapest replica schedule that meets the SLO target on a trace when the
future is known and capacity arrives at once.

Attainment is judged per request (every objective of a request met), so the oracle must
reach the same target a policy is held to: 99 % of requests for p99 objectives. It replays
the same service model as every policy, within the model's max_replicas, with zero cold
start and per-second billing; among schedules that follow the load bucket by bucket
(replicas = ceil(k x the bucket's peak rate / μ_SLO), at most max_replicas) it bisects on
the headroom k for the cheapest that reaches the target, and takes the fewest replicas held
the whole trace instead where that is cheaper. When even max_replicas all the
time misses the target the trace is infeasible within max_replicas and the oracle says so.

It is a bound for what an autoscaler can do with these replicas, not a proof of optimality:
the fluid bound (∫ λ/μ dt) stays below it, and `with_cold_start_gpu_hours` adds what the
same foresight pays when every replica it starts must be launched a cold start ahead (or
kept through an idle gap shorter than that).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from components.intent.slo import Slo
from components.planning.controllers import Controller, Schedule
from components.planning.servability import Unservable, unservable
from components.planning.traces import Trace

if TYPE_CHECKING:
    from components.planning.compare import ModelSetup
    from components.planning.simulator import Result

# Every objective of an Slo is a 99th percentile: 99 % of requests must meet all of them.
P99_ATTAINMENT = 0.99
BUCKET_S = 60.0
# Bisection steps on the headroom factor: each one is a replay of the trace.
SEARCH_STEPS = 7
LOWEST_HEADROOM = 0.25


def attainment_target(slo: Slo) -> float:
    """Share of requests that must meet every objective (all of ours are p99)."""
    return P99_ATTAINMENT


@dataclass(frozen=True)
class OracleResult:
    result: Result
    feasible: bool
    target: float
    headroom: float  # k of the load-following schedule; nan where a steady fleet was cheaper
    schedule: tuple[int, ...]
    bucket_s: float
    with_cold_start_gpu_hours: float
    # Requests that miss the SLO even alone on an idle replica (None: not judged, Triton).
    unservable: Unservable | None = None

    @property
    def peak_replicas(self) -> int:
        return max(self.schedule, default=0)

    @property
    def infeasible_because(self) -> str | None:
        """None when feasible; "slo" when too many requests miss the SLO alone on an idle
        replica (no replica count helps); else "max_replicas"."""
        if self.feasible:
            return None
        if self.unservable is not None and self.unservable.blocks(self.target):
            return "slo"
        return "max_replicas"


def _needs(trace: Trace, bucket_s: float) -> list[float]:
    return trace.peak_per_bucket(bucket_s)


def schedule_for(needs: list[float], mu: float, headroom: float, max_replicas: int) -> tuple[int, ...]:
    out = []
    for rate in needs:
        if rate <= 0:
            out.append(0)
            continue
        wanted = max_replicas if math.isinf(headroom) else math.ceil(min(headroom * rate / mu, max_replicas) - 1e-9)
        out.append(min(max_replicas, max(1, wanted)))
    return tuple(out)


def cold_start_cost_s(schedule: tuple[int, ...], cold_s: float, bucket_s: float = BUCKET_S) -> float:
    """Replica-seconds the same schedule adds when each replica it starts must be launched
    `cold_s` early. The replicas of the first minute were already serving (the run starts
    warm). Foresight keeps a replica through a gap shorter than its cold start instead of
    restarting it, so each restart costs the shorter of the two."""
    extra, previous = 0.0, schedule[0] if schedule else 0
    # off_since[i]: bucket where replica slot i last stopped (None: never ran, or running).
    off_since: list[int | None] = [None] * max(schedule, default=0)
    for index, replicas in enumerate(schedule):
        for slot in range(replicas, previous):
            off_since[slot] = index
        for slot in range(previous, replicas):
            stopped = off_since[slot]
            extra += cold_s if stopped is None else min(cold_s, (index - stopped) * bucket_s)
            off_since[slot] = None
        previous = replicas
    return extra


def oracle(
    setup: ModelSetup, trace: Trace, run: Callable[[Controller, float | None], Result], steps: int = SEARCH_STEPS
) -> OracleResult:
    """`run(controller, abandon_below)` replays the trace with an instant, foresight fleet
    (compare.simulate); the bisection's replays stop once they cannot reach the target, and
    the schedule it reports is one that met it (a full replay)."""
    policy = setup.model.autoscaling
    mu = max(setup.capacity.requests_per_s, 1e-9)
    target = attainment_target(setup.model.slo)
    needs = _needs(trace, BUCKET_S)
    alone = unservable(setup, trace)
    cache: dict[tuple[int, ...], Result] = {}

    def replay(schedule: tuple[int, ...], abandon: bool = False) -> Result:
        cached = cache.get(schedule)
        if cached is None or (cached.abandoned and not abandon):
            cached = run(Schedule(schedule, BUCKET_S, "oracle", _describe(target)), target if abandon else None)
            cache[schedule] = cached
        return cached

    def meets(schedule: tuple[int, ...]) -> bool:
        return replay(schedule, abandon=True).attainment >= target

    def finish(schedule: tuple[int, ...], headroom: float, feasible: bool) -> OracleResult:
        result = replay(schedule)
        extra = cold_start_cost_s(schedule, setup.timings.cold_s, BUCKET_S) * setup.model.gpus / 3600
        return OracleResult(result, feasible, target, headroom, schedule, BUCKET_S, result.gpu_hours + extra, alone)

    ceiling = schedule_for(needs, mu, math.inf, policy.max_replicas)
    if replay(ceiling).attainment < target:
        return finish(ceiling, math.inf, False)
    positive = [rate for rate in needs if rate > 0]
    high = policy.max_replicas * mu / min(positive) if positive else 1.0
    low = LOWEST_HEADROOM
    best = ceiling
    best_headroom = high
    if meets(schedule_for(needs, mu, low, policy.max_replicas)):
        return finish(schedule_for(needs, mu, low, policy.max_replicas), low, True)
    for _ in range(steps):
        middle = math.sqrt(low * high)
        schedule = schedule_for(needs, mu, middle, policy.max_replicas)
        if meets(schedule):
            high, best, best_headroom = middle, schedule, middle
        else:
            low = middle
    # Only fewer replicas than the schedule's mean can be cheaper held the whole trace.
    steady = _cheapest_steady(len(needs), math.ceil(sum(best) / max(1, len(best))) - 1, meets)
    if steady is not None and replay(steady).gpu_hours < replay(best).gpu_hours:
        return finish(steady, math.nan, True)
    return finish(best, best_headroom, True)


def _cheapest_steady(
    buckets: int, most: int, meets: Callable[[tuple[int, ...]], bool]
) -> tuple[int, ...] | None:
    """The fewest replicas, at most `most`, that held the whole trace meet the target (None:
    not even `most`; bisection, as more replicas never serve worse). Following the load
    bucket by bucket is not always cheaper: on a trace whose minutes swing around one
    replica's worth, a steady pair beat every headroom (staging llama-8b on the full Azure
    conversation trace: 1.95 GPU-h held by a policy, 1.99 by the best load-following
    schedule)."""
    if most < 1 or not meets((most,) * buckets):
        return None
    low, high = 0, most
    while high - low > 1:
        middle = (low + high) // 2
        if meets((middle,) * buckets):
            high = middle
        else:
            low = middle
    return (high,) * buckets


def _describe(target: float) -> str:
    return (
        f"perfect foresight, zero cold start: the cheapest per-minute schedule ceil(k x peak rate / μ_SLO), "
        f"or steady fleet, that meets the SLO for {target:.0%} of requests"
    )

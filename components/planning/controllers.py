"""Autoscaling controllers the simulator replays: the stack's own policy on each target, the
common defaults it is compared against, and the perfect-foresight oracle.

Each controller sees the model only through a Probe (what Prometheus or CloudWatch would
see, with their sampling) and returns the replica count it wants every simulated second.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Literal, Protocol
from zoneinfo import ZoneInfo

from components.intent.autoscaling import AutoscalingPolicy
from components.intent.combined_signal import CombinedSignal
from components.planning import platform

# The "fixed queue-depth threshold" baseline: waiting requests per replica. KEDA has no
# default threshold; 10 is the value its Prometheus examples and many tutorials use.
DEFAULT_QUEUE_THRESHOLD = 10.0
# `kubectl autoscale` and HPA v1 default CPU target (recalled).
DEFAULT_CPU_TARGET_PERCENT = 80.0
# AWS's load-testing guidance for InvocationsPerInstance (SageMaker developer guide, "Load
# testing your auto scaling configuration"): target = MAX_RPS x SAFETY_FACTOR x 60, MAX_RPS
# load-tested on one instance with "payloads that clients of your model typically send",
# and a safety factor to start from of 0.5.
SAGEMAKER_SAFETY_FACTOR = 0.5
# Target tracking alarms (recalled): scale out after 3 datapoints above target, scale in
# after 15 datapoints below 90 % of it; standard metrics arrive about a minute late.
TT_OUT_DATAPOINTS = 3
TT_IN_DATAPOINTS = 15
TT_IN_THRESHOLD = 0.9
TT_STANDARD_PERIOD_S = 60.0
TT_STANDARD_DELAY_S = 60.0
TT_HIGH_RES_PERIOD_S = 10.0
TT_HIGH_RES_DELAY_S = 10.0
SAGEMAKER_DEFAULT_COOLDOWN_S = 300.0  # CDK InvocationsScalingProps default (performance-facts §2)
# CPU a replica burns, in cores (assumptions): vLLM's engine loop spins a core whenever a
# sequence runs, whatever the batch size; each request adds its HTTP handling and (vLLM)
# tokenisation and streaming, in core-seconds.
CPU_IDLE_CORES = 0.15
CPU_BUSY_CORES = {"vllm": 1.0, "triton": 0.1}
CPU_SECONDS_PER_REQUEST = {"vllm": 0.02, "triton": 0.0002}
# How much earlier than a computed change a skip of idle seconds ends (quiet_until): a
# second, so that floating-point rounding of a clock or a bucket edge cannot carry it past.
SKIP_MARGIN_S = 1.0


class Probe(Protocol):
    """What the monitoring systems see of one model at simulated time `t`."""

    t: float

    def waiting(self) -> float: ...

    def running(self) -> float: ...

    def ready(self) -> int: ...

    def window(self, series: str, start: float, end: float) -> float:
        """Sum of a per-second series (arrivals, completions, inflight, ready, cpu) over [start, end)."""
        ...


@dataclass(frozen=True)
class OpeningLoad:
    """The load a trace opens with, and how the model serves it: what a controller's steady
    state follows from."""

    rps: float
    capacity_rps: float  # μ_SLO of one replica
    # A request's mean time in the system on one replica at its SLO rate, replayed on a
    # recording's mix or the mean shape (ModelSetup.replica_latency_s); asked for only by the
    # controllers that count requests in flight, since it may take a replay to know.
    time_in_system: Callable[[], float] = field(compare=False)
    runtime: str
    cpu_request: float
    # The fewest replicas whose ceiling measured on a recording's mix covers the load: pooled
    # replicas absorb each other's long requests, so n serve more than n x one alone.
    replicas_needed: int | None = None

    def replicas_at_capacity(self) -> int:
        """Replicas that keep the queue empty: a queue-depth controller's resting point."""
        if self.rps <= 0:
            return 0
        if self.replicas_needed is not None:
            return self.replicas_needed
        return math.ceil(self.rps / max(self.capacity_rps, 1e-9) - 1e-9)

    @property
    def latency_s(self) -> float:
        return self.time_in_system()

    def inflight(self) -> float:
        """Requests in flight (Little's law)."""
        return self.rps * self.latency_s


MINUTES_PER_DAY = 1440.0


@dataclass(frozen=True)
class DayClock:
    """Simulated seconds as minutes of the day in the scheduled floors' time zone: a
    generated daily trace lays each day over `day_s` (diurnal: trough at midnight, peak at
    noon) from midnight of its start weekday (Monday, or a declared week's open day); a
    recording with a wall-clock start runs in real time from that minute and day of the
    week; every other trace from midnight on a Monday (a working day, for weekday windows).
    Daylight saving within a trace is ignored."""

    day_s: float = 86_400.0
    start_minute: float = 0.0
    start_weekday: int = 0  # Monday 0

    def minute(self, t: float) -> float:
        # Multiplied first: whole seconds of a real day land on whole minutes exactly.
        return (self.start_minute + t * MINUTES_PER_DAY / self.day_s) % MINUTES_PER_DAY

    def weekday(self, t: float) -> int:
        """The day of the week at simulated second `t`, Monday 0."""
        return int(self.start_weekday + (self.start_minute + t * MINUTES_PER_DAY / self.day_s) // MINUTES_PER_DAY) % 7

    def seconds(self, minutes: float) -> float:
        """Simulated seconds a span of `minutes` of the day lasts."""
        return minutes / MINUTES_PER_DAY * self.day_s


REAL_TIME = DayClock()


def day_clock(trace: object, timezone: str = "UTC") -> DayClock:
    """Where the trace's seconds fall in the day of `timezone` (the scheduled floors' zone): a
    recording with a wall-clock start begins at that minute there; others at midnight."""
    day_s = getattr(trace, "day_s", None)
    if day_s:
        return DayClock(day_s, start_weekday=getattr(trace, "start_weekday", 0))
    start = getattr(trace, "start_epoch_s", None)
    if start is None:
        return REAL_TIME
    local = datetime.fromtimestamp(start, ZoneInfo(timezone))
    return DayClock(start_minute=local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60,
                    start_weekday=local.weekday())


def schedule_timezone(policy: AutoscalingPolicy) -> str:
    """The zone a policy's scheduled floors are written in (UTC without any)."""
    return policy.schedule.timezone if policy.schedule is not None else "UTC"


def hpa_proposal(value: float, target: float, current: int) -> int:
    """One AverageValue metric's replica proposal, as the HPA computes it: within the
    tolerance of the target the current count stands, else ceil(value / target)."""
    ratio = value / (target * current)
    if abs(ratio - 1) <= platform.HPA_TOLERANCE:
        return current
    return math.ceil(current * ratio - 1e-9)


Select = Literal["Max", "Min"]
RatePolicy = tuple[Literal["Percent", "Pods"], float, float]


@dataclass(frozen=True)
class HpaBehavior:
    up_window_s: float
    down_window_s: float
    up_policies: tuple[RatePolicy, ...]
    up_select: Select
    down_policies: tuple[RatePolicy, ...]
    down_select: Select


# Kubernetes' built-in defaults (HPAScalingRules; performance-facts §4).
DEFAULT_BEHAVIOR = HpaBehavior(0, 300, (("Percent", 100, 15), ("Pods", 4, 15)), "Max", (("Percent", 100, 15),), "Max")


def compiled_behavior(policy: AutoscalingPolicy) -> HpaBehavior:
    """The behaviour our ScaledObjects set (components/compilers/keda.py)."""
    return HpaBehavior(
        policy.scale_up_window_s,
        policy.scale_down_window_s,
        (("Percent", 100, 15), ("Pods", 4, 15)),
        "Max",
        (("Pods", 1, 60),),
        "Min",
    )


class Controller:
    name: str = ""
    description: str = ""
    # EKS warm pool: placeholder pods holding GPUs. SageMaker warm pool: spare instances.
    placeholders: int = 0
    spare_instances: int = 0

    def decide(self, probe: Probe, current: int) -> int:
        raise NotImplementedError

    def quiet_until(self, probe: Probe, current: int) -> float:
        """The first second from `probe.t` on at which `decide` may do anything but return
        `current` unchanged, while the model stays idle: nothing arrives, waits or runs, and
        the ready replicas stay as they are (the simulator skips the seconds before it).
        Earlier is always safe; this default skips nothing."""
        return probe.t

    def initial(self, probe: Probe, opening: OpeningLoad | None = None) -> int:
        """Replicas running when the trace starts: the steady state this controller holds
        under the trace's opening load (a warm start), or its floor without one."""
        floor = max(1, getattr(self, "min_replicas", 1))
        if opening is None:
            return floor
        high = getattr(self, "max_replicas", floor)
        return min(high, max(floor, self.steady_state(opening)))

    def steady_state(self, opening: OpeningLoad) -> int:
        """Replicas this controller settles at under a constant load (its metric's fixed point)."""
        steady = getattr(self, "steady", None)
        target = getattr(self, "target", 1.0)
        return steady(opening, target) if steady is not None else opening.replicas_at_capacity()


class Hpa(Controller):
    """A HorizontalPodAutoscaler (behind KEDA for external metrics): sampled metric, sync
    period, tolerance, stabilisation windows and rate limits; optional KEDA scale to zero."""

    def __init__(
        self,
        name: str,
        description: str,
        metric: Callable[[Probe], float],
        target: float,
        utilization: bool,
        min_replicas: int,
        max_replicas: int,
        behavior: HpaBehavior,
        scrape_s: float,
        polling_s: float,
        scale_to_zero: bool = False,
        idle_timeout_s: float = platform.DEFAULT_KEDA_COOLDOWN_S,
        placeholders: int = 0,
        steady: Callable[[OpeningLoad, float], int] | None = None,
        floor: ScheduledFloor | None = None,
        floor_in_formula: bool = False,
    ) -> None:
        self.steady = steady
        # Scheduled floors (KEDA cron triggers): replicas wanted at a simulated second, 0
        # outside every window. As separate triggers each is one more HPA metric; with
        # scalingModifiers they join the formula as a maximum (`floor_in_formula`).
        self.floor = floor
        self.floor_in_formula = floor_in_formula
        self.name, self.description = name, description
        self.metric, self.target, self.utilization = metric, target, utilization
        self.min_replicas, self.max_replicas = min_replicas, max_replicas
        self.behavior = behavior
        self.scrape_s, self.polling_s = scrape_s, polling_s
        self.scale_to_zero, self.idle_timeout_s = scale_to_zero, idle_timeout_s
        self.placeholders = placeholders
        self.sample = 0.0
        self.next_scrape = 0.0
        self.next_sync = 0.0
        self.next_poll = 0.0
        self.last_active = 0.0
        self.recommendations: deque[tuple[float, int]] = deque()
        self.events: deque[tuple[float, int]] = deque()

    def initial(self, probe: Probe, opening: OpeningLoad | None = None) -> int:
        replicas = super().initial(probe, opening)
        if self.floor is not None:
            replicas = min(self.max_replicas, max(replicas, self.floor(probe.t)))
        # A warm start: the stabilisation windows remember the replicas held so far.
        self.recommendations.append((probe.t, replicas))
        return replicas

    def decide(self, probe: Probe, current: int) -> int:
        t = probe.t
        if t >= self.next_scrape:
            self.sample = self.metric(probe)
            self.next_scrape = t + self.scrape_s
        scheduled = self.floor(t) if self.floor is not None else 0
        if self.scale_to_zero:
            # An active cron trigger keeps the ScaledObject active, as a request does.
            if probe.waiting() > 0 or probe.running() > 0 or probe.window("arrivals", t - 1, t) > 0 or scheduled:
                self.last_active = t
            if current == 0:
                # The HTTP add-on's interceptor holds the request and pushes activation at once.
                return max(1, self.min_replicas) if probe.waiting() > 0 or scheduled else 0
            if t >= self.next_poll:
                self.next_poll = t + self.polling_s
                if t - self.last_active >= self.idle_timeout_s:
                    return 0
        if t < self.next_sync:
            return current
        self.next_sync = t + platform.HPA_SYNC_S
        if current == 0:
            return current if self.scale_to_zero else self.min_replicas
        if self.utilization:
            ratio = self.sample / self.target
            raw = current if abs(ratio - 1) <= platform.HPA_TOLERANCE else math.ceil(current * ratio - 1e-9)
        elif self.floor is not None and self.floor_in_formula:
            # KEDA's formula max(load, floor_0, ...) with an inactive cron trigger reading 1.
            raw = hpa_proposal(max(self.sample, scheduled or 1), self.target, current)
        else:
            raw = hpa_proposal(self.sample, self.target, current)
            if self.floor is not None:
                # A cron trigger is its own metric (value desiredReplicas, or 1, target 1):
                # the HPA takes the largest proposal.
                raw = max(raw, hpa_proposal(scheduled or 1, 1.0, current))
        raw = min(self.max_replicas, max(self.min_replicas, raw))
        return self._apply(t, current, raw)

    def quiet_until(self, probe: Probe, current: int) -> float:
        # Between its scrape, poll and sync times `decide` reads only the gauges, the last
        # second's arrivals (activity) and the floor; all of them hold while the model idles,
        # except the gauges and arrivals of the second before the first skipped one.
        t = probe.t
        floor = self.floor
        if probe.running() > 0:
            return t
        wake = self.next_scrape
        if self.scale_to_zero:
            # An active floor marks every second active (last_active), and at zero replicas
            # it activates the target at once: skip neither.
            if probe.window("arrivals", t - 1, t) > 0 or (floor is not None and floor(t)):
                return t
            if current == 0 and probe.waiting() > 0:
                return t
            # At zero replicas `decide` returns before its poll and sync. Above zero,
            # requests waiting mark every second active (last_active), and `decide` sets it
            # again before a poll reads it: a skip leaves it earlier, where nothing reads it.
            if current > 0:
                wake = min(wake, self.next_poll, self.next_sync)
            # The floor marks seconds active, and at zero replicas it activates the target.
            if floor is not None:
                wake = min(wake, floor.steady_until(t))
        else:
            # Without scale to zero the floor is read at a sync only, which wakes anyway.
            wake = min(wake, self.next_sync)
        return max(t, wake)

    def _apply(self, t: float, current: int, raw: int) -> int:
        behavior = self.behavior
        self.recommendations.append((t, raw))
        horizon = max(behavior.up_window_s, behavior.down_window_s)
        while self.recommendations and self.recommendations[0][0] < t - horizon:
            self.recommendations.popleft()
        up = min(r for when, r in self.recommendations if when >= t - behavior.up_window_s)
        down = max(r for when, r in self.recommendations if when >= t - behavior.down_window_s)
        wanted = current
        if wanted < up:
            wanted = up
        if wanted > down:
            wanted = down
        if wanted > current:
            wanted = min(wanted, self._limit(t, current, behavior.up_policies, behavior.up_select, up=True))
        elif wanted < current:
            wanted = max(wanted, self._limit(t, current, behavior.down_policies, behavior.down_select, up=False))
        wanted = min(self.max_replicas, max(self.min_replicas, wanted))
        if wanted != current:
            self.events.append((t, wanted - current))
        while self.events and self.events[0][0] < t - 600:
            self.events.popleft()
        return wanted

    def _limit(self, t: float, current: int, policies: tuple[RatePolicy, ...], select: Select, up: bool) -> int:
        limits = []
        for kind, value, period in policies:
            changed = sum(d for when, d in self.events if when > t - period and (d > 0) == up)
            base = current - changed
            if up:
                limits.append(base + value if kind == "Pods" else math.ceil(base * (1 + value / 100)))
            else:
                limits.append(base - value if kind == "Pods" else math.floor(base * (1 - value / 100)))
        if up:
            return int(max(limits) if select == "Max" else min(limits))
        return int(min(limits) if select == "Max" else max(limits))


class TargetTracking(Controller):
    """Application Auto Scaling target tracking on a SageMaker variant: CloudWatch datapoints
    per period arriving late, alarms over several datapoints, scale-in/out cooldowns."""

    def __init__(
        self,
        name: str,
        description: str,
        metric: Callable[[Probe, float, float], float],
        target: float,
        min_replicas: int,
        max_replicas: int,
        period_s: float,
        delay_s: float,
        scale_out_cooldown_s: float,
        scale_in_cooldown_s: float,
        spare_instances: int = 0,
        steady: Callable[[OpeningLoad, float], int] | None = None,
        floor: ScheduledFloor | None = None,
    ) -> None:
        self.steady = steady
        # Scheduled actions: MinCapacity raised for a window (0 outside every window).
        self.floor = floor
        self.name, self.description = name, description
        self.metric, self.target = metric, target
        self.min_replicas, self.max_replicas = min_replicas, max_replicas
        self.period_s, self.delay_s = period_s, delay_s
        self.out_cooldown_s, self.in_cooldown_s = scale_out_cooldown_s, scale_in_cooldown_s
        self.spare_instances = spare_instances
        self.datapoints: deque[float] = deque(maxlen=TT_IN_DATAPOINTS)
        self.next_datapoint = period_s + delay_s
        self.out_until = 0.0
        self.in_until = 0.0

    def initial(self, probe: Probe, opening: OpeningLoad | None = None) -> int:
        replicas = super().initial(probe, opening)
        if self.floor is not None:
            replicas = min(self.max_replicas, max(replicas, self.floor(probe.t)))
        return replicas

    def decide(self, probe: Probe, current: int) -> int:
        t = probe.t
        # A scheduled action that raises MinCapacity above the current count scales out at once.
        low = max(self.min_replicas, self.floor(t)) if self.floor is not None else self.min_replicas
        if current < low:
            return low
        if t < self.next_datapoint:
            return current
        self.next_datapoint = t + self.period_s
        end = t - self.delay_s
        value = self.metric(probe, end - self.period_s, end)
        self.datapoints.append(value)
        points = list(self.datapoints)
        wanted = current
        if len(points) >= TT_OUT_DATAPOINTS and all(p > self.target for p in points[-TT_OUT_DATAPOINTS:]):
            if t >= self.out_until:
                wanted = max(current + 1, math.ceil(current * value / self.target))
                self.out_until = t + self.out_cooldown_s
        elif len(points) >= TT_IN_DATAPOINTS and all(p < TT_IN_THRESHOLD * self.target for p in points):
            if t >= self.in_until and t >= self.out_until:
                wanted = min(current - 1, math.ceil(current * value / self.target))
                self.in_until = t + self.in_cooldown_s
        return min(self.max_replicas, max(low, wanted))

    def quiet_until(self, probe: Probe, current: int) -> float:
        # Between datapoints `decide` only raises the count to a scheduled floor above it.
        t = probe.t
        floor = self.floor
        if current < (max(self.min_replicas, floor(t)) if floor is not None else self.min_replicas):
            return t
        wake = self.next_datapoint
        if floor is not None:
            wake = min(wake, floor.steady_until(t))
        return max(t, wake)


class Schedule(Controller):
    """Perfect foresight: a replica count fixed in advance for every bucket of the trace
    (components/planning/oracle.py chooses it). While requests still wait after the schedule
    ends, one replica stays."""

    def __init__(self, replicas: tuple[int, ...], bucket_s: float, name: str = "oracle", description: str = "") -> None:
        self.replicas, self.bucket_s = replicas, bucket_s
        self.name, self.description = name, description

    def initial(self, probe: Probe, opening: OpeningLoad | None = None) -> int:
        return self.decide(probe, 0)

    def decide(self, probe: Probe, current: int) -> int:
        index = int(probe.t // self.bucket_s)
        planned = self.replicas[index] if index < len(self.replicas) else 0
        backlog = 1 if probe.waiting() > 0 else 0
        return max(backlog, planned)

    def quiet_until(self, probe: Probe, current: int) -> float:
        t = probe.t
        if probe.waiting() > 0:
            return t
        index = int(t // self.bucket_s)
        replicas = self.replicas
        planned = replicas[index] if index < len(replicas) else 0
        if planned != current:
            return t
        following = index + 1
        while following < len(replicas) and replicas[following] == planned:
            following += 1
        if following >= len(replicas) and planned == 0:
            return math.inf
        # A second before the first one of the bucket that plans another count.
        return max(t, math.floor(following * self.bucket_s) - SKIP_MARGIN_S)


def _inflight_per_instance(probe: Probe, start: float, end: float) -> float:
    """ConcurrentRequestsPerModel: requests in flight per in-service instance, averaged."""
    ready = probe.window("ready", start, end)
    inflight = probe.window("inflight", start, end)
    return inflight / ready if ready else inflight / max(end - start, 1e-9)


def _invocations_per_instance_minute(probe: Probe, start: float, end: float) -> float:
    """InvocationsPerInstance: requests received per minute per in-service instance."""
    span = max(end - start, 1e-9)
    ready = probe.window("ready", start, end) / span
    return probe.window("arrivals", start, end) * 60 / span / max(ready, 1.0)


def _signal_metric(signal: str) -> Callable[[Probe], float]:
    if signal == "queue_depth":
        return lambda p: p.waiting()
    if signal == "concurrency":
        return lambda p: p.waiting() + p.running()
    return lambda p: p.window("completions", p.t - 60, p.t) / 60


def _steady_queue(opening: OpeningLoad, target: float) -> int:
    return opening.replicas_at_capacity()


def _steady_inflight(opening: OpeningLoad, target: float) -> int:
    return math.ceil(opening.inflight() / target - 1e-9)


def _steady_rps(opening: OpeningLoad, target: float) -> int:
    return math.ceil(opening.rps / target - 1e-9)


def _steady_invocations(opening: OpeningLoad, target: float) -> int:
    return math.ceil(opening.rps * 60 / target - 1e-9)


def _steady_cpu(opening: OpeningLoad, target: float) -> int:
    """The fewest replicas whose CPU utilisation sits within the HPA's tolerance of target."""
    for replicas in range(1, 1001):
        busy = 1.0 if opening.rps > 0 else 0.0
        used = 100 * cpu_cores(opening.runtime, busy, opening.rps / replicas) / opening.cpu_request
        if used <= target * (1 + platform.HPA_TOLERANCE):
            return replicas
    return 1000


SIGNAL_STEADY = {"queue_depth": _steady_queue, "concurrency": _steady_inflight, "requests_per_second": _steady_rps}


def _steady_combined(combined: CombinedSignal) -> Callable[[OpeningLoad, float], int]:
    def steady(opening: OpeningLoad, target: float) -> int:
        # At a constant load below capacity nothing waits: the batch term alone.
        return math.ceil(combined.replicas_worth(0.0, opening.inflight()) - 1e-9)

    return steady


def _combined_metric(combined: CombinedSignal) -> Callable[[Probe], float]:
    def metric(probe: Probe) -> float:
        return keda_composite(combined.replicas_worth(probe.waiting(), probe.running()))

    return metric


def keda_composite(value: float) -> float:
    """The formula's result as KEDA hands it to the HPA: whole milli-units, truncated
    (`Value.SetMilli(int64(out * 1000))` in pkg/scaling/modifiers/formula.go)."""
    return math.floor(value * 1000 + 1e-9) / 1000


@dataclass(frozen=True)
class ScheduledFloor:
    """A policy's scheduled floors as replicas wanted at each simulated second."""

    policy: AutoscalingPolicy
    clock: DayClock

    def __call__(self, t: float) -> int:
        schedule = self.policy.schedule
        assert schedule is not None
        return min(self.policy.max_replicas, schedule.floor_at(self.clock.minute(t), self.clock.weekday(t)))

    def steady_until(self, t: float) -> float:
        """A second at or before the first one after `t` whose floor may differ: windows open
        and close on whole minutes of the day (weekdays change at midnight, one of them), so
        the floor holds until the clock's next whole minute. One second early, so that the
        clock's rounding never lets a skip run past the change."""
        minute = self.clock.minute(t)
        boundary = t + self.clock.seconds(math.floor(minute) + 1 - minute)
        return max(t, math.floor(boundary) - SKIP_MARGIN_S)


def scheduled_floor(policy: AutoscalingPolicy, clock: DayClock) -> ScheduledFloor | None:
    """The policy's scheduled floors on the trace's clock (None without any)."""
    return ScheduledFloor(policy, clock) if policy.schedule is not None else None


def _describe_schedule(policy: AutoscalingPolicy) -> str:
    if policy.schedule is None:
        return ""
    windows = ", ".join(f"{w.start}-{w.end}{w.days_shown()}≥{w.min_replicas}" for w in policy.schedule.windows)
    return f", floors {windows}"


def stack_policy(policy: AutoscalingPolicy, target: str, clock: DayClock = REAL_TIME) -> Controller:
    """The stack's own AutoscalingPolicy as its target compiles it; `clock` places the
    trace's seconds in the day for its scheduled floors."""
    floor = scheduled_floor(policy, clock)
    if target == "eks":
        combined = policy.combined
        if combined is not None:
            what = f"KEDA waiting/{combined.queue_per_replica:g} + running/{combined.running_per_replica:g}"
            metric, value, steady = _combined_metric(combined), 1.0, _steady_combined(combined)
        else:
            what = f"KEDA {policy.signal} > {policy.target:g}/replica"
            metric, value, steady = _signal_metric(policy.signal), policy.target, SIGNAL_STEADY[policy.signal]
        return Hpa(
            "stack policy",
            f"{what}, HPA up {policy.scale_up_window_s}s / down "
            f"{policy.scale_down_window_s}s, 1 pod/60s down" + (f", {policy.warm_pool} warm" if policy.warm_pool else "")
            + _describe_schedule(policy),
            metric,
            value,
            False,
            policy.min_replicas,
            policy.max_replicas,
            compiled_behavior(policy),
            platform.OUR_SCRAPE_S,
            platform.OUR_KEDA_POLLING_S,
            scale_to_zero=policy.scale_to_zero,
            idle_timeout_s=policy.idle_timeout_s,
            placeholders=policy.warm_pool,
            steady=steady,
            floor=floor,
            floor_in_formula=combined is not None,
        )
    if policy.combined is not None:
        raise ValueError("SageMaker has no combined signal (the stack rules refuse it)")
    if policy.signal == "concurrency":
        metric, target_value, steady = _inflight_per_instance, policy.target, _steady_inflight
        period, delay, what = TT_HIGH_RES_PERIOD_S, TT_HIGH_RES_DELAY_S, "ConcurrentRequestsPerModel (10 s)"
    else:
        metric, target_value, steady = _invocations_per_instance_minute, policy.target * 60, _steady_invocations
        period, delay, what = TT_STANDARD_PERIOD_S, TT_STANDARD_DELAY_S, "InvocationsPerInstance (1 min)"
    return TargetTracking(
        "stack policy",
        f"target tracking {what} at {target_value:g}, cooldown out {policy.scale_up_window_s}s / in "
        f"{policy.scale_down_window_s}s" + (f", {policy.warm_pool} spare" if policy.warm_pool else "")
        + _describe_schedule(policy),
        metric,
        target_value,
        policy.min_replicas,
        policy.max_replicas,
        period,
        delay,
        policy.scale_up_window_s,
        policy.scale_down_window_s,
        spare_instances=policy.warm_pool,
        steady=steady,
        floor=floor,
    )


def stack_policy_on(policy: AutoscalingPolicy, target: str, trace: object) -> Controller:
    """The stack policy's controller with its scheduled floors on the trace's clock (the
    recording's own time of day and weekday in the schedule's zone)."""
    return stack_policy(policy, target, day_clock(trace, schedule_timezone(policy)))


def cpu_cores(runtime: str, running: float, rps: float) -> float:
    return CPU_IDLE_CORES + (CPU_BUSY_CORES[runtime] if running > 0 else 0.0) + CPU_SECONDS_PER_REQUEST[runtime] * rps


def baselines(policy: AutoscalingPolicy, capacity_rps: float) -> list[Controller]:
    """Common defaults on the same replica bounds, without warm capacity or scale to zero.
    `capacity_rps`: one replica's rate at the SLO on the traffic replayed, what a user's load
    test with their own requests would find (ModelSetup.replica_rps)."""
    low, high = policy.min_replicas, policy.max_replicas
    return [
        Hpa(
            "HPA on CPU",
            f"HPA CPU utilisation {DEFAULT_CPU_TARGET_PERCENT:g} %, default behaviour",
            lambda p: p.window("cpu", p.t - 15, p.t) / 15,
            DEFAULT_CPU_TARGET_PERCENT,
            True,
            low,
            high,
            DEFAULT_BEHAVIOR,
            15.0,
            platform.DEFAULT_KEDA_POLLING_S,
            steady=_steady_cpu,
        ),
        TargetTracking(
            "SageMaker invocations",
            f"target tracking InvocationsPerInstance at {SAGEMAKER_SAFETY_FACTOR:g} x a replica's rate at the SLO x 60, "
            "300 s cooldowns",
            _invocations_per_instance_minute,
            max(SAGEMAKER_SAFETY_FACTOR * capacity_rps * 60, 1e-6),
            low,
            high,
            TT_STANDARD_PERIOD_S,
            TT_STANDARD_DELAY_S,
            SAGEMAKER_DEFAULT_COOLDOWN_S,
            SAGEMAKER_DEFAULT_COOLDOWN_S,
            steady=_steady_invocations,
        ),
        Hpa(
            "KEDA queue default",
            f"KEDA queue depth > {DEFAULT_QUEUE_THRESHOLD:g}/replica, 30 s polling and scrape, default HPA behaviour",
            lambda p: p.waiting(),
            DEFAULT_QUEUE_THRESHOLD,
            False,
            low,
            high,
            DEFAULT_BEHAVIOR,
            platform.DEFAULT_SCRAPE_S,
            platform.DEFAULT_KEDA_POLLING_S,
            steady=_steady_queue,
        ),
    ]

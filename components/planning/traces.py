"""Request traces to replay: seeded generators (steady, step, bursty, diurnal) and CSV files.

A trace is a sorted list of arrivals, each with its prompt and output length (and, where a
recorded trace carries them, the prompt tokens the prefix cache already holds). LLM traces
replay one arrival per request: weighted arrivals made batches lumpy and moved day-long
results by 7-17 points (issue 14). Only the fluid Triton replay, which reads the intensity,
thins its arrivals into weighted ones.
"""
from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Literal

from components.intent.scheduled_floors import WEEKDAYS
from components.intent.scheduled_floors import minutes as clock_minutes
from components.intent.traffic import Traffic
from components.planning.capacity import DEFAULT_WORKLOAD, Workload

# LLM traces are never thinned: this bound only stops a runaway generator.
MAX_ARRIVALS = 50_000_000
SIMULATE_MAX_ARRIVALS = MAX_ARRIVALS
# The fluid (Triton) replay reads only the intensity; a few arrivals keep the trace whole.
FLUID_MAX_ARRIVALS = 1_000
# Spread of prompt and output lengths around their means (lognormal sigma).
LENGTH_SIGMA = 0.7

TraceKind = Literal["steady", "bursty", "diurnal", "business_hours"]
# Kinds that lay one day over the trace: a real day unless a duration is asked for.
DAILY_KINDS = ("diurnal", "business_hours")
DAY_S = 86_400.0
ALL_WEEK = tuple(range(7))
# Generated traces last this long unless a duration is asked for; a daily one is a real day: a
# day squeezed into 30 minutes keeps its minutes-long cold start and scale-in windows, so every
# reactive policy trailed each ramp (1.59-1.91x the oracle, issue 14) for a reason no real day has.
GENERATED_DURATION_S = 1800.0


def iso_utc(moment: float) -> str:
    """Unix seconds as an ISO 8601 UTC time to the second (`2026-11-30T10:15:00Z`)."""
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class TraceError(ValueError):
    """A trace file that cannot be replayed; the message names the line and the problem."""


@dataclass(frozen=True)
class Trace:
    name: str
    duration_s: float
    arrivals: tuple[float, ...]
    prompts: tuple[int, ...]
    outputs: tuple[int, ...]
    weight: int = 1
    # Requests per second the generator drew from, second by second (None for recorded
    # traces). The fluid (Triton) replay uses it: weighted arrivals are too lumpy for
    # sub-second latency objectives.
    intensity: tuple[float, ...] | None = None
    # Prompt tokens served from the prefix cache, per arrival (recorded traces that carry them).
    cached: tuple[int, ...] | None = None
    seed: int | None = None
    # Simulated seconds per day where a generator laid one daily cycle over the trace (its
    # duration); None: the trace runs in real time. Scheduled floors read it.
    day_s: float | None = None
    # The wall-clock instant (Unix seconds) of the trace's second 0, where a recording carries
    # date-times or Unix times; None: it starts at midnight. Scheduled floors read it, so a
    # recording that opens at 18:15 is not replayed as if 18:15 were midnight.
    start_epoch_s: float | None = None
    # The day of the week (Monday 0) a generated trace's second 0 falls on.
    start_weekday: int = 0

    def opens_at(self) -> str | None:
        """The recording's first request as an ISO 8601 UTC time (None: no wall clock)."""
        return None if self.start_epoch_s is None else iso_utc(self.start_epoch_s)

    @property
    def requests(self) -> int:
        return len(self.arrivals) * self.weight

    def workload(self) -> Workload:
        """The trace's own mean request shape: what the capacity plan must assume for it."""
        if not self.arrivals:
            return DEFAULT_WORKLOAD
        count = len(self.arrivals)
        return Workload(max(1, round(sum(self.prompts) / count)), max(1, round(sum(self.outputs) / count)))

    def busiest_minute_rps(self) -> float:
        return max(self.rate_per_bucket(60.0), default=0.0)

    def per_second(self) -> list[float]:
        """Requests arriving in each second of the trace."""
        if self.intensity is not None:
            return list(self.intensity)
        return self.rate_per_bucket(1.0)

    def rate_per_bucket(self, bucket_s: float) -> list[float]:
        """Requests per second in consecutive buckets of `bucket_s` seconds. A trace shorter
        than one bucket is its own bucket: three requests in two seconds are 1.5 req/s, not
        3 a minute (TRACE_PEAK would otherwise scale a short burst to 30 x the peak asked)."""
        buckets = [0.0] * max(1, math.ceil(self.duration_s / bucket_s))
        for t in self.arrivals:
            buckets[min(len(buckets) - 1, int(t // bucket_s))] += self.weight
        span = self.duration_s if len(buckets) == 1 and 0 < self.duration_s < bucket_s else bucket_s
        return [b / span for b in buckets]

    def peak_per_bucket(self, bucket_s: float) -> list[float]:
        """The highest request rate within each bucket: the drawn intensity's maximum for
        generated traces, the bucket's mean for recorded ones."""
        if self.intensity is None:
            return self.rate_per_bucket(bucket_s)
        size = max(1, int(bucket_s))
        return [max(self.intensity[i : i + size]) for i in range(0, len(self.intensity), size)]

    def refused(self, max_model_len: int) -> tuple[bool, ...]:
        """Per arrival, whether vLLM refuses it: a prompt of max_model_len tokens or more."""
        return tuple(p >= max_model_len for p in self.prompts)

    def clipped(self, max_model_len: int) -> Trace:
        """Lengths cut so prompt + output fits the model's context, as a client must."""
        prompts, outputs = [], []
        for p, o in zip(self.prompts, self.outputs):
            p = min(p, max_model_len - 1)
            prompts.append(p)
            outputs.append(max(1, min(o, max_model_len - p)))
        cached = None if self.cached is None else tuple(min(c, p) for c, p in zip(self.cached, prompts))
        return replace(self, prompts=tuple(prompts), outputs=tuple(outputs), cached=cached)


def draw_length(rng: random.Random, mean: float) -> int:
    mu = math.log(mean) - LENGTH_SIGMA**2 / 2
    return max(1, int(round(rng.lognormvariate(mu, LENGTH_SIGMA))))


def generate(
    name: str,
    rate: Callable[[float], float],
    peak_rps: float,
    mean_rps: float,
    duration_s: float,
    workload: Workload = DEFAULT_WORKLOAD,
    seed: int = 0,
    max_arrivals: int = MAX_ARRIVALS,
) -> Trace:
    """A non-homogeneous Poisson process with intensity `rate(t)` ≤ `peak_rps` (thinning)."""
    rng = random.Random(seed)
    weight = max(1, math.ceil(mean_rps * duration_s / max_arrivals))
    ceiling = peak_rps / weight
    arrivals: list[float] = []
    prompts: list[int] = []
    outputs: list[int] = []
    t = 0.0
    if ceiling > 0:
        while True:
            t += rng.expovariate(ceiling)
            if t >= duration_s:
                break
            if rng.random() * peak_rps <= rate(t):
                arrivals.append(t)
                prompts.append(draw_length(rng, workload.prompt_tokens))
                outputs.append(draw_length(rng, workload.output_tokens))
    intensity = tuple(rate(second + 0.5) for second in range(math.ceil(duration_s)))
    return Trace(name, duration_s, tuple(arrivals), tuple(prompts), tuple(outputs), weight, intensity, seed=seed)


def steady(
    rps: float, duration_s: float, workload: Workload = DEFAULT_WORKLOAD, seed: int = 0, max_arrivals: int = MAX_ARRIVALS
) -> Trace:
    return generate(f"steady {rps:.3g} req/s", lambda t: rps, rps, rps, duration_s, workload, seed, max_arrivals)


def step(
    before_rps: float, after_rps: float, at_s: float, duration_s: float, workload: Workload = DEFAULT_WORKLOAD, seed: int = 0
) -> Trace:
    """Load jumps from one level to another at `at_s`: the textbook scale-out case."""
    mean = (before_rps * at_s + after_rps * (duration_s - at_s)) / duration_s
    return generate(
        f"step {before_rps:.3g} to {after_rps:.3g} req/s at {at_s:g}s",
        lambda t: before_rps if t < at_s else after_rps,
        max(before_rps, after_rps),
        mean,
        duration_s,
        workload,
        seed,
    )


def bursty(
    base_rps: float,
    burst_rps: float,
    duration_s: float,
    workload: Workload = DEFAULT_WORKLOAD,
    seed: int = 0,
    mean_burst_s: float = 300,
    mean_gap_s: float = 900,
    max_arrivals: int = MAX_ARRIVALS,
) -> Trace:
    """A base load with bursts of random length at random times (an on/off modulated Poisson)."""
    rng = random.Random(seed ^ 0x5EED)
    bursts: list[tuple[float, float]] = []
    t = rng.expovariate(1 / mean_gap_s)
    while t < duration_s:
        length = rng.expovariate(1 / mean_burst_s)
        bursts.append((t, t + length))
        t += length + rng.expovariate(1 / mean_gap_s)
    burst_time = sum(min(end, duration_s) - start for start, end in bursts)
    mean = base_rps + (burst_rps - base_rps) * burst_time / duration_s

    starts = [start for start, _ in bursts]

    def rate(now: float) -> float:
        index = bisect.bisect_right(starts, now) - 1
        return burst_rps if index >= 0 and now < bursts[index][1] else base_rps

    return generate(
        f"bursty {base_rps:.3g} req/s, bursts to {burst_rps:.3g}",
        rate, max(base_rps, burst_rps), mean, duration_s, workload, seed, max_arrivals,
    )


def diurnal(
    trough_rps: float,
    peak_rps: float,
    duration_s: float,
    workload: Workload = DEFAULT_WORKLOAD,
    seed: int = 0,
    max_arrivals: int = MAX_ARRIVALS,
) -> Trace:
    """One day's cycle, trough at the start and end, peak in the middle, over `duration_s`."""

    def rate(now: float) -> float:
        return trough_rps + (peak_rps - trough_rps) * (1 - math.cos(2 * math.pi * now / duration_s)) / 2

    trace = generate(
        f"diurnal {trough_rps:.3g} to {peak_rps:.3g} req/s",
        rate, peak_rps, (trough_rps + peak_rps) / 2, duration_s, workload, seed, max_arrivals,
    )
    return replace(trace, day_s=duration_s)


# A working day's default hours, in minutes after midnight, and how long the load takes to rise
# at opening and fall at closing (an assumption: people arrive and leave over about an hour).
OPENS_MIN = 9 * 60
CLOSES_MIN = 18 * 60
BUSINESS_RAMP_S = 3600.0


def _ramp(now: float, at: float, width: float) -> float:
    """0 before `at` - width/2, 1 after `at` + width/2, a half cosine between."""
    u = (now - (at - width / 2)) / width
    return 0.0 if u <= 0 else 1.0 if u >= 1 else (1 - math.cos(math.pi * u)) / 2


def business_hours(
    trough_rps: float,
    peak_rps: float,
    duration_s: float,
    workload: Workload = DEFAULT_WORKLOAD,
    seed: int = 0,
    max_arrivals: int = MAX_ARRIVALS,
    opens_min: int = OPENS_MIN,
    closes_min: int = CLOSES_MIN,
    open_weekdays: tuple[int, ...] = ALL_WEEK,
    only_weekday: int | None = None,
) -> Trace:
    """One working day over `duration_s` from midnight: the peak from opening to closing, the
    trough outside, each edge an hour's half-cosine ramp centred on it (hours that run past
    midnight wrap). The hours are local to the scheduled floors' time zone, as a day is.

    Open only on some `open_weekdays` (Monday 0): a week from Monday midnight, each day
    `duration_s` long, the other days at the trough (`only_weekday`: that day of the week
    alone). As a floor window's days do, the days are those a shift opens on: a Friday
    22:00-06:00 shift runs into Saturday morning."""
    scale = duration_s / DAY_S
    opens, closes, ramp = opens_min * 60 * scale, closes_min * 60 * scale, BUSINESS_RAMP_S * scale
    overnight = closes <= opens
    week = len(open_weekdays) < 7
    first = only_weekday or 0

    def level(now: float) -> float:
        day, now = divmod(now, duration_s)
        weekday = first + int(day)
        opened_today = not week or weekday % 7 in open_weekdays
        rising, falling = _ramp(now, opens, ramp), 1 - _ramp(now, closes, ramp)
        if not overnight:
            return min(rising, falling) if opened_today else 0.0
        # Before closing, the shift that opened the evening before.
        opened_yesterday = not week or (weekday - 1) % 7 in open_weekdays
        return max(rising if opened_today else 0.0, falling if opened_yesterday else 0.0)

    def rate(now: float) -> float:
        return trough_rps + (peak_rps - trough_rps) * level(now)

    replayed_days = 7 if week and only_weekday is None else 1
    open_share = ((closes_min - opens_min) % (24 * 60)) / (24 * 60)
    if replayed_days == 7:
        open_share *= len(open_weekdays) / 7
    hours = f"{opens_min // 60:02d}:{opens_min % 60:02d}-{closes_min // 60:02d}:{closes_min % 60:02d}"
    shown = ""
    if week:
        shown = f" {'/'.join(WEEKDAYS[d] for d in open_weekdays)}" + (", a week" if replayed_days == 7 else "")
    trace = generate(
        f"business hours {hours}{shown}, {trough_rps:.3g} to {peak_rps:.3g} req/s",
        rate, peak_rps, trough_rps + (peak_rps - trough_rps) * open_share, replayed_days * duration_s, workload, seed,
        max_arrivals,
    )
    if only_weekday is not None and week:
        trace = replace(trace, name=f"{trace.name}, {WEEKDAYS[first]} (an open day of the week)")
    return replace(trace, day_s=duration_s, start_weekday=first)


def generated_duration(kind: str, duration_s: float | None = None) -> float:
    if duration_s is not None:
        return duration_s
    return DAY_S if kind in DAILY_KINDS else GENERATED_DURATION_S


# The default traces, relative to what the model's max replicas serve at its SLO: the stack
# file says nothing about traffic, so load is expressed as a share of the ceiling.
BASE_SHARE = 0.3
BURST_SHARE = 0.9
TROUGH_SHARE = 0.05
PEAK_SHARE = 0.85


def relative(
    kind: TraceKind,
    ceiling_rps: float,
    duration_s: float,
    workload: Workload = DEFAULT_WORKLOAD,
    seed: int = 0,
    max_arrivals: int = MAX_ARRIVALS,
) -> Trace:
    """A default trace scaled to `ceiling_rps` (max replicas x μ_SLO)."""
    if kind == "steady":
        return steady(BASE_SHARE * ceiling_rps, duration_s, workload, seed, max_arrivals)
    if kind == "bursty":
        return bursty(BASE_SHARE * ceiling_rps, BURST_SHARE * ceiling_rps, duration_s, workload, seed, max_arrivals=max_arrivals)
    if kind == "business_hours":
        return business_hours(TROUGH_SHARE * ceiling_rps, PEAK_SHARE * ceiling_rps, duration_s, workload, seed, max_arrivals)
    return diurnal(TROUGH_SHARE * ceiling_rps, PEAK_SHARE * ceiling_rps, duration_s, workload, seed, max_arrivals)


def as_fluid(trace: Trace, max_arrivals: int = FLUID_MAX_ARRIVALS) -> Trace:
    """A recorded trace for the fluid (Triton) replay, which reads only the load per second:
    its per-second counts become the intensity and every k-th arrival is kept (weight k) to
    mark when it runs. A recording rescaled to a Triton model's ceiling would otherwise be
    millions of arrivals replayed one by one for nothing."""
    if trace.intensity is not None:
        return trace
    counts = tuple(trace.rate_per_bucket(1.0))
    step = max(1, math.ceil(len(trace.arrivals) / max_arrivals))
    keep = list(range(0, len(trace.arrivals), step))
    return Trace(
        trace.name, trace.duration_s,
        tuple(trace.arrivals[i] for i in keep), tuple(trace.prompts[i] for i in keep), tuple(trace.outputs[i] for i in keep),
        weight=step * trace.weight, intensity=counts, seed=trace.seed, day_s=trace.day_s,
        start_epoch_s=trace.start_epoch_s, start_weekday=trace.start_weekday,
    )


def _busiest_minute_of(intensity: tuple[float, ...]) -> float:
    return max((sum(intensity[i : i + 60]) / len(intensity[i : i + 60]) for i in range(0, len(intensity), 60)), default=0.0)


# Beyond this share off the asked peak, a rescaled trace's name gives the busiest minute drawn.
DRAWN_PEAK_TOLERANCE = 0.1


def rescaled(trace: Trace, peak_rps: float, seed: int = 0, jitter_s: float = 1.0) -> Trace:
    """The trace with its busiest minute at `peak_rps` (TRACE_PEAK): below its own peak each
    request is kept with the ratio's probability; above it, whole copies of the trace are
    laid over it, each arrival moved by up to `jitter_s` so copies do not arrive in lockstep.
    The shape (when it is busy, how lengths mix) is the recording's. A fluid trace
    (as_fluid) has its intensity scaled instead."""
    current = _busiest_minute_of(trace.intensity) if trace.intensity is not None else trace.busiest_minute_rps()
    if current <= 0 or peak_rps <= 0:
        raise TraceError(f"{trace.name}: cannot rescale a trace without requests to {peak_rps:g} req/s")
    factor = peak_rps / current
    if trace.intensity is not None:
        return replace(
            trace, name=f"{trace.name} at {factor:.3g}x (busiest minute {peak_rps:.3g} req/s)",
            intensity=tuple(rate * factor for rate in trace.intensity), seed=seed,
        )
    rng = random.Random(seed ^ 0x7ACE)
    rows: list[tuple[float, int, int, int]] = []
    cached = trace.cached or (0,) * len(trace.arrivals)
    for t, p, o, c in zip(trace.arrivals, trace.prompts, trace.outputs, cached):
        copies = int(factor) + (1 if rng.random() < factor - int(factor) else 0)
        for copy in range(copies):
            moved = t if copy == 0 else min(trace.duration_s, max(0.0, t + rng.uniform(-jitter_s, jitter_s)))
            rows.append((moved, p, o, c))
    rows.sort()
    scaled = _from_rows(trace.name, trace, rows, seed)
    drawn = scaled.busiest_minute_rps()
    peak = f"busiest minute {peak_rps:.3g} req/s"
    if abs(drawn - peak_rps) > DRAWN_PEAK_TOLERANCE * peak_rps:
        # Thinned to a few requests a minute, the busiest minute is whichever drew the most: the
        # mean load is the one asked for, its peak is not, and the name says so.
        peak += f" asked, {drawn:.3g} drawn: too few requests a minute for it to land there"
    return replace(scaled, name=f"{trace.name} at {factor:.3g}x ({peak})")


def reshuffled(trace: Trace, seed: int, shift_s: float = 60.0) -> Trace:
    """A held-out variant of a recorded trace: every arrival moved by up to `shift_s`, so a
    policy tuned on the recording is checked on bursts it has not seen at the same second (a
    fluid trace: each second's load moved alike)."""
    rng = random.Random(seed ^ 0x5A17)
    if trace.intensity is not None:
        moved = [0.0] * len(trace.intensity)
        last = len(moved) - 1
        for second, rate in enumerate(trace.intensity):
            moved[min(last, max(0, round(second + rng.uniform(-shift_s, shift_s))))] += rate
        return replace(trace, name=f"{trace.name}, load moved up to {shift_s:g} s (seed {seed})", intensity=tuple(moved), seed=seed)
    cached = trace.cached or (0,) * len(trace.arrivals)
    rows = sorted(
        (min(trace.duration_s, max(0.0, t + rng.uniform(-shift_s, shift_s))), p, o, c)
        for t, p, o, c in zip(trace.arrivals, trace.prompts, trace.outputs, cached)
    )
    return _from_rows(f"{trace.name}, arrivals moved up to {shift_s:g} s (seed {seed})", trace, rows, seed)


def _from_rows(name: str, source: Trace, rows: list[tuple[float, int, int, int]], seed: int) -> Trace:
    """A trace of sorted (arrival, prompt, output, cached) rows derived from `source`."""
    return Trace(
        name,
        source.duration_s,
        tuple(r[0] for r in rows),
        tuple(r[1] for r in rows),
        tuple(r[2] for r in rows),
        cached=tuple(r[3] for r in rows) if source.cached is not None else None,
        seed=seed,
        day_s=source.day_s,
        start_epoch_s=source.start_epoch_s,
        start_weekday=source.start_weekday,
    )


def declared(
    traffic: Traffic, duration_s: float | None = None, seed: int = 0, max_arrivals: int = MAX_ARRIVALS,
    root: Path | None = None, open_day_only: bool = False,
) -> Trace:
    """The trace a model's declared traffic describes (a CSV path is read from `root`);
    `duration_s` None: the shape's own (generated_duration), per day of a declared week.
    `open_day_only`: of business hours on some days, its busiest open day alone, not the week
    (the preview's replay: a week costs seven)."""
    if traffic.csv is not None:
        # recorded.py builds on this module's Trace; imported here to keep the two acyclic.
        from components.planning.recorded import from_csv

        path = Path(traffic.csv)
        return from_csv(path if path.is_absolute() or root is None else root / path)
    assert traffic.peak_rps is not None
    duration_s = generated_duration(traffic.shape, duration_s)
    workload = Workload(traffic.prompt_tokens, traffic.output_tokens)
    peak, low = traffic.peak_rps, traffic.peak_rps * traffic.trough_share
    if traffic.shape == "steady":
        return steady(peak, duration_s, workload, seed, max_arrivals)
    if traffic.shape == "diurnal":
        return diurnal(low, peak, duration_s, workload, seed, max_arrivals)
    if traffic.shape == "business_hours":
        days, opens, closes = traffic.open_weekdays(), clock_minutes(traffic.opens), clock_minutes(traffic.closes)
        # The busiest open day: the first, or for a night shift one after another open day,
        # whose morning the shift before fills.
        busiest = next((d for d in days if (d - 1) % 7 in days), days[0]) if closes <= opens else days[0]
        return business_hours(low, peak, duration_s, workload, seed, max_arrivals, opens, closes, days,
                              busiest if open_day_only else None)
    return bursty(low, peak, duration_s, workload, seed, traffic.burst_s, traffic.burst_gap_s, max_arrivals)

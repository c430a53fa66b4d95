"""Scheduled floors derived from a daily traffic shape: for each hour of the day, the
replicas that cover the load one cold start later, merged into windows.

A floor raised at time x gives ready capacity from x + cold start, so the floor in force
during hour h must cover the busiest load of [h + cold, h + 1 h + cold): replicas =
ceil(share x that rate / μ_SLO). Hours whose floor is no higher than min_replicas get no
window; equal neighbours merge; past `MAX_WINDOWS` the cheapest-to-merge neighbours join at
the higher floor. The tuner searches `share` and min_replicas and keeps floors only where
the replay shows them meeting the SLO target for less.
"""
from __future__ import annotations

import math

from components.intent.autoscaling import AutoscalingPolicy
from components.intent.scheduled_floors import MAX_WINDOWS, FloorWindow, ScheduledFloors
from components.planning.controllers import DayClock
from components.planning.traces import Trace

HOURS = 24


def _clock(minute: int) -> str:
    minute %= 24 * 60
    return f"{minute // 60:02d}:{minute % 60:02d}"


def hourly_floors(trace: Trace, clock: DayClock, mu_rps: float, lead_s: float, share: float, ceiling: int) -> list[int]:
    """Replicas each hour of the day's floor must hold (0: none needed), at most `ceiling`.
    The trace is read as one day (a longer one: the busiest of its days, hour by hour); a
    recording that opens mid-day (the clock's start minute) is read from that hour."""
    step = 1.0 if trace.intensity is not None else 60.0
    rates = trace.peak_per_bucket(step)
    days = max(1, math.ceil(trace.duration_s / clock.day_s))
    # Hour h of day d starts this long after the trace's second 0 (negative on the first day
    # of a recording that opens after h).
    opening = clock.seconds(clock.start_minute)
    # Where a window runs past the trace (or before it), the same time of another of its days
    # stands in: whole days away, so the hour of the day is kept. A one-day trace wraps onto itself.
    span = trace.duration_s if days == 1 and opening == 0 else days * clock.day_s
    floors = []
    for hour in range(HOURS):
        need = 0.0
        for day in range(days + (1 if opening else 0)):
            begin = day * clock.day_s + clock.seconds(hour * 60) - opening + lead_s
            end = day * clock.day_s + clock.seconds((hour + 1) * 60) - opening + lead_s
            for second in _range(begin, end, step):
                index = int((second % max(span, step)) // step)
                if index < len(rates):
                    need = max(need, rates[index])
        floors.append(min(ceiling, math.ceil(share * need / max(mu_rps, 1e-9) - 1e-9)) if need > 0 else 0)
    return floors


def _range(begin: float, end: float, step: float) -> list[float]:
    count = max(1, math.ceil((end - begin) / step))
    return [begin + i * step for i in range(count)]


def windows_from_hours(floors: list[int], min_replicas: int) -> list[FloorWindow]:
    """Runs of equal hourly floors above min_replicas as windows (a run through midnight is one)."""
    runs: list[list[int]] = []  # [start hour, hours, floor]
    for hour, floor in enumerate(floors):
        if runs and runs[-1][2] == floor and runs[-1][0] + runs[-1][1] == hour:
            runs[-1][1] += 1
        else:
            runs.append([hour, 1, floor])
    if len(runs) > 1 and runs[0][2] == runs[-1][2]:
        last = runs.pop()
        runs[0] = [last[0], last[1] + runs[0][1], last[2]]
    runs = [r for r in runs if r[2] > min_replicas]
    while len(runs) > MAX_WINDOWS:
        # Merge the neighbours (adjacent in time) whose joining adds the fewest replica-hours.
        def cost(i: int) -> float:
            a, b = runs[i], runs[i + 1]
            gap = (b[0] - (a[0] + a[1])) % HOURS
            high = max(a[2], b[2])
            return (high - a[2]) * a[1] + (high - b[2]) * b[1] + (high - min_replicas) * gap

        i = min(range(len(runs) - 1), key=cost)
        a, b = runs[i], runs[i + 1]
        span = (b[0] + b[1] - a[0]) % HOURS or HOURS
        runs[i : i + 2] = [[a[0], span, max(a[2], b[2])]]
    return [
        FloorWindow(start=_clock(start * 60), end=_clock((start + hours) * 60), min_replicas=floor)
        for start, hours, floor in runs
        if hours < HOURS
    ]


def derived_schedule(
    policy: AutoscalingPolicy, trace: Trace, clock: DayClock, mu_rps: float, lead_s: float, share: float,
    timezone: str = "UTC",
) -> ScheduledFloors | None:
    """Floors for `policy` from the trace's daily shape, or None where none rises above its floor."""
    ceiling = policy.max_replicas - policy.warm_pool
    floors = hourly_floors(trace, clock, mu_rps, lead_s, share, ceiling)
    windows = windows_from_hours(floors, policy.min_replicas)
    if not windows:
        return None
    return ScheduledFloors(timezone=timezone, windows=windows)


def has_daily_shape(trace: Trace) -> bool:
    """A trace that shows a day: a generated diurnal one, or a recording of a day or more."""
    return trace.day_s is not None or trace.duration_s >= 86_400

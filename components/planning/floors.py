"""Scheduled floors derived from a daily traffic shape: for each hour of the day, the
replicas that cover the load one cold start later, merged into windows.

A floor raised at time x gives ready capacity from x + cold start, so the floor in force
during hour h must cover the busiest load of [h + cold, h + 1 h + cold): replicas =
ceil(share x that rate / μ_SLO), or on a recording the fewest replicas whose ceiling
measured on its mix covers share x that rate (ModelSetup.replicas_for). Hours whose floor
is no higher than min_replicas get no window; equal neighbours merge; past `MAX_WINDOWS`
the cheapest-to-merge neighbours join at the higher floor. A recording of a whole week with
a wall clock gets floors per day of the week, days with the same hours sharing windows
(office hours: weekdays only), and so does a declared week. The tuner searches `share` and
min_replicas and keeps floors only where the replay shows them meeting the SLO target for
less.
"""
from __future__ import annotations

import math
from collections.abc import Callable

from components.intent.autoscaling import AutoscalingPolicy
from components.intent.scheduled_floors import MAX_WINDOWS, WEEKDAYS, FloorWindow, ScheduledFloors, Weekday
from components.planning.controllers import DayClock
from components.planning.traces import Trace

HOURS = 24
# The fewest replicas serving a rate (None: size by μ_SLO instead).
ReplicasFor = Callable[[float], "int | None"]


def _clock(minute: int) -> str:
    minute %= 24 * 60
    return f"{minute // 60:02d}:{minute % 60:02d}"


def hourly_floors(
    trace: Trace, clock: DayClock, mu_rps: float, lead_s: float, share: float, ceiling: int,
    replicas_for: ReplicasFor | None = None,
) -> list[int]:
    """Replicas each hour of the day's floor must hold (0: none needed), at most `ceiling`.
    The trace is read as one day (a longer one: the busiest of its days, hour by hour); a
    recording that opens mid-day (the clock's start minute) is read from that hour."""
    return _hourly(trace, clock, mu_rps, lead_s, share, ceiling, False, replicas_for)[0]


def weekday_hourly_floors(
    trace: Trace, clock: DayClock, mu_rps: float, lead_s: float, share: float, ceiling: int,
    replicas_for: ReplicasFor | None = None,
) -> list[list[int]]:
    """hourly_floors for each day of the week (Monday 0), from the days of that weekday the
    recording holds; an hour it never saw on that day needs none."""
    return _hourly(trace, clock, mu_rps, lead_s, share, ceiling, True, replicas_for)


def _replicas(need: float, mu_rps: float, replicas_for: ReplicasFor | None) -> int:
    measured = replicas_for(need) if replicas_for is not None else None
    return measured if measured is not None else math.ceil(need / max(mu_rps, 1e-9) - 1e-9)


def _hourly(
    trace: Trace, clock: DayClock, mu_rps: float, lead_s: float, share: float, ceiling: int, by_weekday: bool,
    replicas_for: ReplicasFor | None,
) -> list[list[int]]:
    step = 1.0 if trace.intensity is not None else 60.0
    rates = trace.peak_per_bucket(step)
    days = max(1, math.ceil(trace.duration_s / clock.day_s))
    # Hour h of day d starts this long after the trace's second 0 (negative on the first day
    # of a recording that opens after h).
    opening = clock.seconds(clock.start_minute)
    # Where a window runs past the trace (or before it), the same time of another of its days
    # stands in: whole days away, so the hour of the day is kept. A one-day trace wraps onto itself.
    span = trace.duration_s if days == 1 and opening == 0 else days * clock.day_s
    needs = [[0.0] * HOURS for _ in range(7 if by_weekday else 1)]
    for hour in range(HOURS):
        for day in range(days + (1 if opening else 0)):
            begin = day * clock.day_s + clock.seconds(hour * 60) - opening + lead_s
            end = day * clock.day_s + clock.seconds((hour + 1) * 60) - opening + lead_s
            # Day 0 is the one the trace opens on (its midnight may lie before second 0).
            row = needs[(clock.start_weekday + day) % 7] if by_weekday else needs[0]
            for second in _range(begin, end, step):
                # Per weekday, a window past a recording is another week's: not read. A
                # generated week repeats itself, so Sunday night reads Monday's morning.
                if by_weekday and trace.day_s is None and not 0 <= second < trace.duration_s:
                    continue
                index = int((second % max(span, step)) // step)
                if index < len(rates):
                    row[hour] = max(row[hour], rates[index])
    return [
        [min(ceiling, _replicas(share * need, mu_rps, replicas_for)) if need > 0 else 0 for need in row]
        for row in needs
    ]


def _range(begin: float, end: float, step: float) -> list[float]:
    count = max(1, math.ceil((end - begin) / step))
    return [begin + i * step for i in range(count)]


def windows_from_hours(
    floors: list[int], min_replicas: int, days: list[Weekday] | None = None,
) -> list[FloorWindow]:
    """Runs of equal hourly floors above min_replicas as windows (a run through midnight is one,
    every day; on given `days` the next day's first hours are another day's, so it is not)."""
    runs: list[list[int]] = []  # [start hour, hours, floor]
    for hour, floor in enumerate(floors):
        if runs and runs[-1][2] == floor and runs[-1][0] + runs[-1][1] == hour:
            runs[-1][1] += 1
        else:
            runs.append([hour, 1, floor])
    if days is None and len(runs) > 1 and runs[0][2] == runs[-1][2]:
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
    windows = []
    for start, hours, floor in runs:
        if hours < HOURS:
            windows.append(FloorWindow(start=_clock(start * 60), end=_clock((start + hours) * 60), min_replicas=floor, days=days))
        elif days is not None:
            # All day on some days: a window cannot end when it starts, so two halves.
            windows += [FloorWindow(start=a, end=b, min_replicas=floor, days=days) for a, b in (("00:00", "12:00"), ("12:00", "00:00"))]
        # All day every day is min_replicas' job, not a window's.
    return windows


def derived_schedule(
    policy: AutoscalingPolicy, trace: Trace, clock: DayClock, mu_rps: float, lead_s: float, share: float,
    timezone: str = "UTC", replicas_for: ReplicasFor | None = None,
) -> ScheduledFloors | None:
    """Floors for `policy` from the trace's daily shape, or None where none rises above its
    floor. `replicas_for`: the fewest replicas serving a rate where a recording's mix was
    measured (it returns None otherwise, and μ_SLO sizes the floors)."""
    ceiling = policy.max_replicas - policy.warm_pool
    windows = (
        _weekday_windows(trace, clock, mu_rps, lead_s, share, ceiling, policy.min_replicas, replicas_for)
        if covers_week(trace) else None
    )
    if windows is None:
        hours = hourly_floors(trace, clock, mu_rps, lead_s, share, ceiling, replicas_for)
        windows = windows_from_hours(hours, policy.min_replicas)
    if not windows:
        return None
    return ScheduledFloors(timezone=timezone, windows=windows)


def covers_week(trace: Trace) -> bool:
    """A recording with a wall clock that holds every day of the week, or a generated week."""
    if trace.day_s is not None:
        return trace.duration_s >= 7 * trace.day_s
    # A request log's duration ends at its last request: a week logged to Sunday 23:59 counts.
    return trace.start_epoch_s is not None and trace.duration_s >= 7 * 86_400 - 3_600


def _weekday_windows(
    trace: Trace, clock: DayClock, mu_rps: float, lead_s: float, share: float, ceiling: int, min_replicas: int,
    replicas_for: ReplicasFor | None,
) -> list[FloorWindow] | None:
    """Windows per group of weekdays with the same hourly floors; None where they would take
    more than MAX_WINDOWS (the daily derivation stands then)."""
    by_day = weekday_hourly_floors(trace, clock, mu_rps, lead_s, share, ceiling, replicas_for)
    groups: dict[tuple[int, ...], list[int]] = {}
    for day, floors in enumerate(by_day):
        # Hours at or below min_replicas make no window, whatever their floor: days differing
        # only there share windows.
        groups.setdefault(tuple(f if f > min_replicas else 0 for f in floors), []).append(day)
    if len(groups) == 1:
        return windows_from_hours(by_day[0], min_replicas)
    windows: list[FloorWindow] = []
    for floors, days in groups.items():
        windows += windows_from_hours(list(floors), min_replicas, [WEEKDAYS[d] for d in days])
        if len(windows) > MAX_WINDOWS:
            return None
    return windows


def has_daily_shape(trace: Trace) -> bool:
    """A trace that shows a day: a generated diurnal one, or a recording of a day or more."""
    return trace.day_s is not None or trace.duration_s >= 86_400

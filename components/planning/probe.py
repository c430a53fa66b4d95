"""What the controllers read each simulated second: the metrics Prometheus, KEDA and
CloudWatch would show of one model (queue depth, requests running, ready replicas, and per-
second series to window over: arrivals, completions, requests in flight, CPU utilisation).

The server models report what happened in the second; the probe turns it into those
metrics, so a controller never sees the simulator's internals.
"""
from __future__ import annotations

import math
from itertools import accumulate, islice, repeat

from components.planning.controllers import cpu_cores

DT = 1.0
SERIES = ("arrivals", "completions", "inflight", "ready", "cpu")


class Probe:
    """The controllers' view (controllers.Probe): gauges of the last second and cumulative
    sums of the per-second series, so any window is two lookups."""

    def __init__(self, runtime: str, cpu_request: float) -> None:
        self.t = 0.0
        self.runtime = runtime
        # What an HPA on CPU divides by: the CPUs a replica requests (platform.cpu_request).
        self.cpu_request = max(1.0, cpu_request)
        self._waiting = 0.0
        self._running = 0.0
        self._ready = 0
        self.cumulative: dict[str, list[float]] = {name: [0.0] for name in SERIES}
        # Idle seconds observed but not yet added to the series, and their (waiting, ready).
        self._idle_seconds = 0
        self._idle: tuple[float, int] = (0.0, 0)

    def waiting(self) -> float:
        return self._waiting

    def running(self) -> float:
        return self._running

    def ready(self) -> int:
        return self._ready

    def cpu_percent(self, ready: int, busy: int, rps: float) -> float:
        """Mean CPU utilisation over the ready replicas: `busy` of them run sequences, the
        requests of the second spread evenly."""
        if not ready:
            return 0.0
        request, runtime = self.cpu_request, self.runtime
        return 100 * sum(cpu_cores(runtime, 1 if i < busy else 0, rps / ready) / request for i in range(ready)) / ready

    def observe(self, arrived: float, completions: float, waiting: float, running: float, ready: int, busy: int) -> None:
        """One second's metrics, as the scrape after it shows them."""
        if self._idle_seconds:
            self._add_idle()
        self._waiting, self._running, self._ready = waiting, running, ready
        values = {
            "arrivals": arrived,
            "completions": completions,
            "inflight": waiting + running,
            "ready": ready,
            "cpu": self.cpu_percent(ready, busy, arrived / DT),
        }
        for name in SERIES:
            column = self.cumulative[name]
            column.append(column[-1] + values[name])

    def observe_idle(self, seconds: int, waiting: float, ready: int) -> None:
        """`seconds` seconds in which nothing arrives, completes or runs. The series get
        them when next read (`window`, `observe`), summed one second at a time as `observe`
        sums them, so every window reads the same floating-point values."""
        self._waiting, self._running, self._ready = waiting, 0, ready
        idle = (waiting, ready)
        if self._idle_seconds and self._idle != idle:
            self._add_idle()
        self._idle = idle
        self._idle_seconds += seconds

    def _add_idle(self) -> None:
        seconds, ready = self._idle_seconds, self._idle[1]
        self._idle_seconds = 0
        values = {**self._idle_counts(), "cpu": self.cpu_percent(ready, 0, 0.0)}
        for name in SERIES:
            column = self.cumulative[name]
            # accumulate yields its initial sum first, which the column already ends with.
            column.extend(islice(accumulate(repeat(values[name], seconds), initial=column[-1]), 1, None))

    def window(self, series: str, start: float, end: float) -> float:
        column = self.cumulative[series]
        pending = self._idle_seconds
        last = len(column) - 1 + pending
        lo = min(last, max(0, int(math.floor(start / DT))))
        hi = min(last, max(0, int(math.floor(end / DT))))
        if pending:
            # The idle seconds not yet added are read off the last sum where they add a
            # whole number a second (none arrive or complete; waiting and ready are counts).
            # Those sums are exact, as adding them one second at a time is; the CPU series,
            # fractional, is added first.
            step = self._idle_step(series)
            known = len(column) - 1
            base = column[known]
            if step is None or not (step == 0 or float(base).is_integer()):
                self._add_idle()
            else:

                def at(index: int) -> float:
                    return column[index] if index <= known else base + (index - known) * step

                return at(hi) - at(lo)
        return column[hi] - column[lo]

    def _idle_counts(self) -> dict[str, float]:
        """What an idle second adds to each series but the CPU: none arrive or complete."""
        waiting, ready = self._idle
        return {"arrivals": 0, "completions": 0, "inflight": waiting, "ready": ready}

    def _idle_step(self, series: str) -> float | None:
        value = self._idle_counts().get(series)
        return value if value is not None and float(value).is_integer() else None

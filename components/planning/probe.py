"""What the controllers read each simulated second: the metrics Prometheus, KEDA and
CloudWatch would show of one model (queue depth, requests running, ready replicas, and per-
second series to window over: arrivals, completions, requests in flight, CPU utilisation).

The server models report what happened in the second; the probe turns it into those
metrics, so a controller never sees the simulator's internals.
"""
from __future__ import annotations

import math

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

    def window(self, series: str, start: float, end: float) -> float:
        column = self.cumulative[series]
        last = len(column) - 1
        lo = min(last, max(0, int(math.floor(start / DT))))
        hi = min(last, max(0, int(math.floor(end / DT))))
        return column[hi] - column[lo]

"""What a replay measures: each request judged against the SLO (attainment), the latency and
TTFT distributions, the per-second series the plot draws, and, at the end, the bill.

The server models report first tokens and completions here; the fleet reports the GPUs it
holds each second and the GPU-seconds it billed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

from components.intent.slo import Slo
from components.planning.probe import DT


@dataclass
class Series:
    """Per-second samples of one run, for the plot."""

    t: list[float] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    wanted: list[int] = field(default_factory=list)
    waiting: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    gpus_billed: list[float] = field(default_factory=list)
    # TTFT (vLLM) or latency (Triton) p99 per minute of first tokens, NaN without any.
    ttft_p99_per_minute: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    policy: str
    description: str
    requests: int
    good: int
    completed: int
    timed_out: int
    duration_s: float
    ttft_p50_s: float
    ttft_p99_s: float
    latency_p99_s: float
    gpu_hours: float
    cost_usd: float
    peak_replicas: int
    mean_replicas: float
    series: Series
    # Stopped once the attainment could no longer reach the share asked for (Simulation's
    # abandon_below): attainment and GPU-hours then cover only the seconds replayed.
    abandoned: bool = False
    # Requests refused on arrival (prompts of max_model_len tokens or more): failed, in requests.
    refused: int = 0
    # The mean time from arrival to the last token of the requests that finished (NaN
    # without any): with the arrival rate, the requests in flight by Little's law.
    mean_latency_s: float = math.nan

    @property
    def attainment(self) -> float:
        return self.good / self.requests if self.requests else 1.0

    @property
    def goodput_rps(self) -> float:
        return self.good / self.duration_s if self.duration_s else 0.0


def percentile(samples: list[tuple[float, int]], q: float) -> float:
    """Weighted percentile of (value, weight) samples; inf when there are none."""
    if not samples:
        return math.inf
    data = np.array(samples, dtype=float)
    order = np.argsort(data[:, 0], kind="stable")
    values, seen = data[order, 0], np.cumsum(data[order, 1])
    at = int(np.searchsorted(seen, q * seen[-1], side="left"))
    return float(values[min(at, len(values) - 1)])


class Recorder:
    """Counts good, completed and lost requests and keeps the samples percentiles are read from."""

    def __init__(self, slo: Slo) -> None:
        self.slo = slo
        self.good = 0
        self.completed = 0
        self.timed_out = 0
        self.refused_requests = 0.0
        self.latency_samples: list[tuple[float, int]] = []
        self.ttft_samples: list[tuple[float, int]] = []
        self.minute_ttft: list[tuple[float, int]] = []
        self.series = Series()
        self.minute_end = 60.0
        self.peak = 0
        self.replica_seconds = 0.0

    # -- requests --------------------------------------------------------------------------
    def first_token(self, ttft: float, weight: int) -> None:
        self.ttft_samples.append((ttft, weight))
        self.minute_ttft.append((ttft, weight))

    def finished(self, ttft: float, tpot: float, latency: float, weight: int) -> None:
        """A streamed request done: good when every objective of the SLO holds for it."""
        slo = self.slo
        ok = (
            (slo.ttft_p99_ms is None or ttft * 1000 <= slo.ttft_p99_ms)
            and (slo.tpot_p99_ms is None or tpot * 1000 <= slo.tpot_p99_ms)
            and (slo.latency_p99_ms is None or latency * 1000 <= slo.latency_p99_ms)
        )
        self.completed += weight
        if ok:
            self.good += weight
        self.latency_samples.append((latency, weight))

    def answered(self, latency: float, requests: float) -> None:
        """A cohort of non-streamed requests (Triton) answered after `latency` seconds."""
        weight = max(1, int(round(requests)))
        self.latency_samples.append((latency, weight))
        self.minute_ttft.append((latency, weight))
        self.completed += requests
        if self.slo.latency_p99_ms is None or latency * 1000 <= self.slo.latency_p99_ms:
            self.good += requests

    def refused(self, requests: float) -> None:
        """Requests the server refused on arrival (a prompt past max_model_len): failed."""
        self.refused_requests += requests

    def gave_up(self, requests: float) -> None:
        """Requests the proxies dropped at their timeout."""
        self.timed_out += requests

    @property
    def misses(self) -> float:
        """Requests that already missed the SLO: finished late or given up on."""
        return self.completed - self.good + self.timed_out + self.refused_requests

    # -- seconds ---------------------------------------------------------------------------
    def second(self, t: float, end: float, ready: int, wanted: int, waiting: float, arrived: float,
               gpus_billed: float) -> None:
        self.peak = max(self.peak, ready)
        self.replica_seconds += ready * DT
        series = self.series
        series.t.append(t)
        series.ready.append(ready)
        series.wanted.append(wanted)
        series.waiting.append(waiting)
        series.arrivals.append(arrived)
        series.gpus_billed.append(gpus_billed)
        self._close_minutes(end)

    def _close_minutes(self, end: float) -> None:
        """The TTFT p99 of each minute that ended by `end` (NaN for one without first tokens)."""
        while end >= self.minute_end:
            p99 = percentile(self.minute_ttft, 0.99) if self.minute_ttft else math.nan
            self.series.ttft_p99_per_minute.append(p99)
            self.minute_ttft = []
            self.minute_end += 60.0

    def idle_seconds(self, t: float, seconds: int, ready: int, wanted: int, waiting: float, arrived: float,
                     gpus_billed: float) -> None:
        """`seconds` seconds from `t` in which no first token comes and `arrived` (the
        server's zero) arrive: what `second` records for each."""
        self.peak = max(self.peak, ready)
        # Whole replica-seconds: the sum is exact, as adding them one second at a time is.
        self.replica_seconds += ready * DT * seconds
        series = self.series
        series.t.extend(t + i * DT for i in range(seconds))
        series.ready.extend(repeat(ready, seconds))
        series.wanted.extend(repeat(wanted, seconds))
        series.waiting.extend(repeat(waiting, seconds))
        series.arrivals.extend(repeat(arrived, seconds))
        series.gpus_billed.extend(repeat(gpus_billed, seconds))
        self._close_minutes(t + seconds * DT)

    # -- the end ---------------------------------------------------------------------------
    def result(self, *, policy: str, description: str, requests: int, duration_s: float, lost: float,
               never_started: int, streamed: bool, ended_at: float, gpu_seconds: float, cost_usd: float,
               abandoned: bool = False) -> Result:
        """`lost`: requests that timed out or never finished (an infinite latency each);
        `never_started`: those of them without a first token (an infinite TTFT each)."""
        if never_started:
            self.ttft_samples.append((math.inf, never_started))
        if lost:
            self.latency_samples.append((math.inf, int(round(lost))))
        first = self.ttft_samples if streamed else self.latency_samples
        finished = [(latency, weight) for latency, weight in self.latency_samples if math.isfinite(latency)]
        weights = sum(weight for _, weight in finished)
        return Result(
            policy=policy,
            description=description,
            requests=requests,
            good=int(round(self.good)),
            completed=int(round(self.completed)),
            timed_out=int(round(lost)),
            duration_s=duration_s,
            ttft_p50_s=percentile(first, 0.5),
            ttft_p99_s=percentile(first, 0.99),
            latency_p99_s=percentile(self.latency_samples, 0.99),
            gpu_hours=gpu_seconds / 3600,
            cost_usd=cost_usd,
            peak_replicas=self.peak,
            mean_replicas=self.replica_seconds / max(ended_at, 1.0),
            series=self.series,
            abandoned=abandoned,
            refused=int(round(self.refused_requests)),
            mean_latency_s=sum(latency * weight for latency, weight in finished) / weights if weights else math.nan,
        )

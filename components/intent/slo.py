"""Service-level objectives of a model: the numbers alerts, canary gates and the planner aim at."""
from __future__ import annotations

from pydantic import Field

from components.intent.base import Spec


class Slo(Spec):
    """Latency and error objectives. Which latencies apply depends on the runtime.

    A p99 objective of X ms means at most 1 % of requests may take longer than X over the
    30-day SLO period: that 1 % is the objective's error budget, and alerts page when the
    budget burns fast (multi-window, multi-burn-rate). For vLLM, X must be a bucket edge of
    the runtime's histogram, so a request is counted good from the bucket at X exactly. The
    error objective's budget is `error_rate` itself.
    """

    ttft_p99_ms: int | None = Field(
        None, ge=10, le=120_000, description="Time to first token, 99th percentile (vLLM)."
    )
    tpot_p99_ms: int | None = Field(
        None, ge=1, le=10_000, description="Time per output token after the first, 99th percentile (vLLM)."
    )
    latency_p99_ms: int | None = Field(
        None, ge=1, le=600_000, description="Whole-request latency, 99th percentile (Triton, or vLLM end to end)."
    )
    error_rate: float = Field(
        0.01, gt=0, le=0.5, description="Highest acceptable share of failed requests (0.01 = 1 %)."
    )

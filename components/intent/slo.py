"""Service-level objectives of a model: the numbers alerts, canary gates and the planner aim at."""
from __future__ import annotations

from pydantic import Field

from components.intent.base import Spec


class Slo(Spec):
    """Latency and error objectives. Which latencies apply depends on the runtime."""

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

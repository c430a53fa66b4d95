"""A measured performance profile of one model on one instance type: what `make loadtest`'s
Job measured after a deploy (components/planning/profile_build.py turns its results into
this), fed to the planner and the simulator with `PROFILE=<file>` in place of the assumed
constants (the roofline's efficiencies, the cold-start chain, Triton's batch latency).
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.intent.base import Problems, Spec

PROFILE_VERSION = 1


class Latency(Spec):
    """One latency distribution in milliseconds, as `vllm bench serve` reports it."""

    mean_ms: float = Field(ge=0, le=3_600_000)
    p50_ms: float | None = Field(None, ge=0, le=3_600_000)
    p99_ms: float | None = Field(None, ge=0, le=3_600_000)


class ConcurrencyPoint(Spec):
    """One step of the concurrency sweep: a closed loop of `concurrency` clients."""

    concurrency: int = Field(ge=1, le=4096)
    requests: int = Field(ge=1, description="Requests completed at this step.")
    request_throughput: float = Field(gt=0, le=1e6, description="Completed requests per second.")
    output_throughput: float | None = Field(None, ge=0, le=1e8, description="Output tokens per second.")
    ttft: Latency
    tpot: Latency | None = Field(None, description="Time per output token after the first (vLLM only).")


class RequestShape(Spec):
    """The request the load test sent (random dataset, fixed lengths)."""

    prompt_tokens: int = Field(ge=1, le=1_048_576)
    output_tokens: int = Field(ge=1, le=1_048_576)


class ColdStart(Spec):
    """Seconds per stage of one cold start, read from the pod's events; a stage left out
    keeps the planner's assumption."""

    node_provision_s: float | None = Field(
        None, ge=0, le=3600, description="FailedScheduling/TriggeredScaleUp until Scheduled."
    )
    image_pull_s: float | None = Field(None, ge=0, le=3600, description="Pulling until Pulled, serving container.")
    container_start_s: float | None = Field(
        None, ge=0, le=7200, description="Container Started until Ready: weights, engine start and readiness."
    )


class TritonBatching(Spec):
    """Batch latency of one Triton model instance, fitted from perf_analyzer: base + per_item x batch."""

    base_ms: float = Field(gt=0, le=60_000)
    per_item_ms: float = Field(ge=0, le=60_000)


class Profile(Spec):
    """What one replica of a model measured on its instance type."""

    version: Literal[1] = Field(1, description="Profile format version.")
    model: str = Field(min_length=1, max_length=63, description="The stack file's model name it was measured on.")
    instance_type: str = Field(min_length=1, max_length=40)
    runtime: Literal["vllm", "triton"]
    measured_at: str | None = Field(None, max_length=40, description="When, for the record (ISO date).")
    request: RequestShape | None = Field(None, description="vLLM: the request shape of the sweep.")
    points: tuple[ConcurrencyPoint, ...] = Field((), max_length=64)
    cold_start: ColdStart | None = None
    triton: TritonBatching | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        problems = Problems(self)
        concurrencies = [p.concurrency for p in self.points]
        if len(set(concurrencies)) != len(concurrencies):
            problems.add(("points",), f"each concurrency once; got {concurrencies}")
        if self.runtime == "vllm":
            if self.points and self.request is None:
                problems.add(("request",), "a vLLM sweep needs the request shape it sent (prompt_tokens, output_tokens)")
            for index, point in enumerate(self.points):
                if point.tpot is None:
                    problems.add(("points", index, "tpot"), "vLLM points need the TPOT vllm bench serve reports")
            if self.triton is not None:
                problems.add(("triton",), "only for runtime triton")
        elif self.request is not None:
            problems.add(("request",), "only for runtime vllm (perf_analyzer sends the model's own inputs)")
        if not self.points and self.cold_start is None and self.triton is None:
            problems.add((), "measures nothing: give points, cold_start or triton")
        problems.raise_if_any()
        return self

"""CanaryPolicy: staged traffic to a candidate version, metric gates and rollback.

EKS runs both versions as InferenceServices behind a weighted HTTPRoute. The weight is the
step chosen in the stack file, or, on a model with `automated_rollout`, the step Flagger has reached;
SageMaker runs a blue/green update with traffic shifting and CloudWatch-alarm rollback.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from components.intent.base import ModelSource, Problems, Spec, VersionLabel

GateMetric = Literal["error_rate", "latency_p99", "ttft_p99", "quality"]
# Placeholders a quality gate's PromQL names the versions by; they become the versions'
# `inferenceservice` label values (`<model>-<version>`).
CANDIDATE_PLACEHOLDER = "$candidate"
STABLE_PLACEHOLDER = "$stable"

class Gate(Spec):
    """A metric the candidate must keep within bounds while it takes traffic."""

    metric: GateMetric = Field(
        description=(
            "`error_rate` (share of failed requests), `latency_p99` (whole request) or "
            "`ttft_p99` (time to first token; vLLM on EKS only) or `quality`: any expression the team "
            "supplies in `expression`, e.g. a prediction-score divergence between candidate and stable."
        )
    )
    expression: str | None = Field(
        None,
        min_length=1,
        max_length=4000,
        description=(
            "For metric `quality` only. EKS: a PromQL expression returning one series, naming the versions "
            "`inferenceservice=\"$candidate\"` / `\"$stable\"`; no data holds the rollout. SageMaker: a "
            "CloudWatch Metrics Insights query (SELECT ...) returning one series. The gate is breached above max_value."
        ),
    )
    max_value: float | None = Field(
        None,
        gt=0,
        description=(
            "Absolute ceiling for the candidate: a ratio (0-1) for error_rate, milliseconds for latencies "
            "(at most 1 % of requests slower; for vLLM a bucket edge of the runtime's histogram)."
        ),
    )
    max_ratio_to_stable: float | None = Field(
        None,
        ge=1,
        le=10,
        description=(
            "The candidate may be at most this many times worse than the stable version (EKS): its share "
            "of failed requests, or (vLLM latencies) its share of requests slower than the model's objective; "
            "a stable version with no failures counts as 0 %, floored at 0.1 %."
        ),
    )
    window_s: int = Field(300, ge=60, le=3600, description="Window the metric is measured over.")

    @model_validator(mode="after")
    def _has_threshold(self) -> Gate:
        problems = Problems(self)
        if self.max_value is None and self.max_ratio_to_stable is None:
            problems.add(("max_value",), "a gate needs max_value, max_ratio_to_stable or both")
        if self.metric == "quality":
            if self.expression is None:
                problems.add(("expression",), "a quality gate needs the expression it measures")
            if self.max_value is None:
                problems.add(("max_value",), "a quality gate needs max_value: the expression's ceiling")
            if self.max_ratio_to_stable is not None:
                problems.add(
                    ("max_ratio_to_stable",),
                    "a quality gate compares with the stable version inside its expression ($stable); "
                    "max_ratio_to_stable does not apply",
                )
        elif self.expression is not None:
            problems.add(("expression",), f"expression applies only to metric quality, not {self.metric}")
        if self.metric == "error_rate" and self.max_value is not None and self.max_value > 1:
            problems.add(
                ("max_value",),
                f"error_rate is a ratio between 0 and 1; got {self.max_value}",
                self.max_value,
            )
        problems.raise_if_any()
        return self


class CanaryPolicy(Spec):
    """A candidate version taking a staged share of requests, gated by metrics."""

    version: VersionLabel = Field(description="Label of the candidate version, e.g. `v2`.")
    source: ModelSource = Field(description="Weights of the candidate version.")
    adapter: str | None = Field(
        None,
        max_length=36,
        description="Name of a LoRA adapter of the model: the candidate is that adapter's new weights (`source`) "
        "on the unchanged base model.",
    )
    steps: list[Annotated[int, Field(ge=1, le=100)]] = Field(
        [10, 50, 100],
        min_length=2,
        max_length=10,
        description="Traffic percentages the rollout moves through; rising, ending at 100.",
    )
    traffic_percent: int = Field(
        ge=0,
        le=100,
        description=(
            "The step the rollout is at now: one of `steps`, or 0 to hold the candidate dark or "
            "roll it back. Promote or roll back by changing this one line."
        ),
    )
    previous_percent: int | None = Field(
        None,
        ge=0,
        le=100,
        description=(
            "The step this candidate was at before this change (the value traffic_percent had). Leave it "
            "out for a brand-new candidate: it starts at the first step. The policy pack lets a change "
            "move one step at a time from here."
        ),
    )
    step_interval_s: int = Field(
        600, ge=60, le=86_400, description="Minimum bake time at each step before the next."
    )
    gates: list[Gate] = Field(min_length=1, max_length=8, description="Metrics the candidate must keep within bounds.")
    rollback_on_breach: bool = Field(
        True, description="Shift all traffic back to the stable version when a gate is breached."
    )

    @model_validator(mode="after")
    def _steps_rise_to_100(self) -> CanaryPolicy:
        problems = Problems(self)
        if any(b <= a for a, b in zip(self.steps, self.steps[1:])):
            problems.add(("steps",), f"steps must rise strictly; got {self.steps}", self.steps)
        if self.steps[-1] != 100:
            problems.add(
                ("steps",),
                f"the last step must be 100 so the rollout can finish; got {self.steps[-1]}",
                self.steps,
            )
        if self.traffic_percent != 0 and self.traffic_percent not in self.steps:
            problems.add(
                ("traffic_percent",),
                f"traffic_percent must be 0 (dark or rolled back) or one of the steps {self.steps}; "
                f"got {self.traffic_percent}",
                self.traffic_percent,
            )
        if self.previous_percent not in (None, 0, *self.steps):
            problems.add(
                ("previous_percent",),
                f"previous_percent is a step the candidate was at: 0 or one of {self.steps}; "
                f"got {self.previous_percent}",
                self.previous_percent,
            )
        metrics = [gate.metric for gate in self.gates if gate.metric != "quality"]
        repeated = sorted({m for m in metrics if metrics.count(m) > 1})
        if repeated:
            problems.add(("gates",), f"one gate per metric; repeated: {', '.join(repeated)}")
        problems.raise_if_any()
        return self

"""Traffic a model expects: what the preview and the tuner replay instead of a load relative to
the model's ceiling. Either a described shape or a recorded trace exported from monitoring."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.intent.base import Problems, Spec

TrafficShape = Literal["steady", "bursty", "diurnal"]


class Traffic(Spec):
    """Expected requests: a peak rate with a daily shape and burstiness, or a CSV trace."""

    peak_rps: float | None = Field(
        None, gt=0, le=1_000_000, description="Busiest requests per second the model should serve."
    )
    shape: TrafficShape = Field(
        "bursty",
        description=(
            "`steady` (always at peak), `bursty` (a base load with bursts to the peak at random "
            "times) or `diurnal` (one real day from the trough to the peak and back, replayed as "
            "24 hours)."
        ),
    )
    trough_share: float = Field(
        0.3, ge=0, le=1, description="Base (bursty) or trough (diurnal) load as a share of peak_rps."
    )
    burst_s: int = Field(300, ge=10, le=86_400, description="Mean length of a burst, in seconds (bursty).")
    burst_gap_s: int = Field(900, ge=10, le=86_400, description="Mean time between bursts, in seconds (bursty).")
    prompt_tokens: int = Field(1024, ge=1, le=1_000_000, description="Mean prompt length of a request (vLLM).")
    output_tokens: int = Field(256, ge=1, le=1_000_000, description="Mean output length of a request (vLLM).")
    csv: str | None = Field(
        None,
        min_length=1,
        pattern=r"^[^\s]+\.csv$",
        description=(
            "A recorded trace instead of a shape, relative to the repository root: "
            "`timestamp_s,prompt_tokens,output_tokens` per request (docs/performance.md shows "
            "the Prometheus and CloudWatch exports)."
        ),
    )

    @model_validator(mode="after")
    def _one_source(self) -> Traffic:
        problems = Problems(self)
        if (self.peak_rps is None) == (self.csv is None):
            problems.add(("peak_rps",), "give either peak_rps (with its shape) or csv, not both and not neither")
        if self.csv is not None:
            described = {"shape", "trough_share", "burst_s", "burst_gap_s", "prompt_tokens", "output_tokens"}
            for name in sorted(described & self.model_fields_set):
                problems.add((name,), f"{name} describes generated traffic; a csv trace carries its own", getattr(self, name))
        problems.raise_if_any()
        return self

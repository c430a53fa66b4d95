"""Traffic a model expects: what the preview and the tuner replay instead of a load relative to
the model's ceiling. Either a described shape or a recorded trace exported from monitoring."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.intent.base import Problems, Spec
from components.intent.scheduled_floors import ClockTime, Weekday, check_days_once, weekday_numbers

TrafficShape = Literal["steady", "bursty", "diurnal", "business_hours"]


class Traffic(Spec):
    """Expected requests: a peak rate with a daily shape and burstiness, or a CSV trace."""

    peak_rps: float | None = Field(
        None, gt=0, le=1_000_000, description="Busiest requests per second the model should serve."
    )
    shape: TrafficShape = Field(
        "bursty",
        description=(
            "`steady` (always at peak), `bursty` (a base load with bursts to the peak at random "
            "times), `diurnal` (one real day from the trough to the peak and back, replayed as "
            "24 hours) or `business_hours` (the peak from `opens` to `closes`, the trough outside, "
            "an hour's ramp at each edge; replayed as 24 hours, or as a week with `days`)."
        ),
    )
    opens: ClockTime = Field(
        "09:00",
        description="business_hours: when the load rises to the peak, HH:MM in the time zone of the "
        "autoscaling schedule (UTC without one).",
    )
    closes: ClockTime = Field(
        "18:00", description="business_hours: when it falls back to the trough, HH:MM (before opens: past midnight)."
    )
    days: list[Weekday] | None = Field(
        None,
        min_length=1,
        max_length=7,
        description="business_hours: the days it opens (mon ... sun; every day when absent; hours "
        "past midnight run into the next day, as a floor window's do); the others stay at the "
        "trough. `make simulate` and `make tune` replay a week (the tuner's floors then hold on "
        "the open days only), the preview its busiest open day.",
    )
    trough_share: float = Field(
        0.3, ge=0, le=1, description="Base (bursty) or trough (diurnal, business_hours) load as a share of peak_rps."
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
            "`timestamp_s,prompt_tokens,output_tokens` per request, or `timestamp_s,requests_per_s` "
            "(or `requests` per step) with optional mean `prompt_tokens,output_tokens` per step, as "
            "Prometheus and CloudWatch export them (docs/performance.md shows the queries)."
        ),
    )

    @model_validator(mode="after")
    def _one_source(self) -> Traffic:
        problems = Problems(self)
        if (self.peak_rps is None) == (self.csv is None):
            problems.add(("peak_rps",), "give either peak_rps (with its shape) or csv, not both and not neither")
        business_only = {"opens", "closes", "days"} & self.model_fields_set
        if self.csv is None and self.shape != "business_hours":
            for name in sorted(business_only):
                problems.add((name,), f"{name} applies to shape business_hours, not {self.shape}", getattr(self, name))
        if self.shape == "business_hours" and self.opens == self.closes:
            problems.add(("closes",), f"closes ({self.closes}) must differ from opens: the working day would be empty", self.closes)
        check_days_once(problems, self.days)
        if self.csv is not None:
            described = {"shape", "trough_share", "burst_s", "burst_gap_s", "prompt_tokens", "output_tokens", "opens", "closes", "days"}
            for name in sorted(described & self.model_fields_set):
                problems.add((name,), f"{name} describes generated traffic; a csv trace carries its own", getattr(self, name))
        problems.raise_if_any()
        return self

    def open_weekdays(self) -> tuple[int, ...]:
        """Days business_hours traffic opens, Monday 0 (all seven without `days`)."""
        return weekday_numbers(self.days)

"""Scheduled floors: more replicas held through daily (or weekday) windows, ahead of load a
model's daily shape makes predictable. A reactive policy pays a cold start (minutes for a GPU replica)
each time the morning ramp outruns it; a floor that rises before the ramp does not.

EKS compiles each window to a KEDA `cron` trigger; SageMaker to two Application Auto Scaling
scheduled actions (raise MinCapacity at the start, restore it at the end).
"""
from __future__ import annotations

from functools import cached_property, lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, model_validator

from components.intent.base import Problems, Spec, pattern_check, shown

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# Monday first, as datetime.weekday() counts.
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# KEDA evaluates every trigger each polling interval and SageMaker needs two scheduled
# actions per window (200 per scalable target is the Application Auto Scaling quota).
MAX_WINDOWS = 12

ClockTime = Annotated[
    str,
    pattern_check(r"([01][0-9]|2[0-3]):[0-5][0-9]", "write a time of day as HH:MM, 00:00 to 23:59"),
]


@lru_cache(maxsize=256)
def _zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _iana_zone(name: str) -> str:
    if not _zone_exists(name):
        raise ValueError(f"{shown(name)} is not an IANA time zone: write one such as UTC, Europe/Berlin or America/New_York")
    return name


TimeZone = Annotated[str, AfterValidator(_iana_zone)]


def minutes(clock: str) -> int:
    """Minutes after midnight of an HH:MM time."""
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


def check_days_once(problems: Problems, days: list[Weekday] | None) -> None:
    """A `days` list names each day once: a repeat is a typo, not a weight."""
    if days is not None and len(set(days)) != len(days):
        repeated = sorted({d for d in days if days.count(d) > 1}, key=WEEKDAYS.index)
        problems.add(("days",), f"each day once: {', '.join(repeated)} repeated", days)


def weekday_numbers(days: list[Weekday] | None) -> tuple[int, ...]:
    """Days as Monday-0 numbers in week order; every day for None."""
    return tuple(range(7)) if days is None else tuple(sorted(WEEKDAYS.index(d) for d in days))


class FloorWindow(Spec):
    """From `start` to `end` on each of `days` (every day without them; in the schedule's time
    zone), at least `min_replicas` replicas; a window whose end is before its start runs past
    midnight into the next day (a Friday 22:00-02:00 window ends on Saturday)."""

    start: ClockTime = Field(description="When the floor rises, HH:MM.")
    end: ClockTime = Field(description="When it falls back to the policy's min_replicas, HH:MM.")
    min_replicas: int = Field(ge=1, le=100, description="Replicas held through the window.")
    days: list[Weekday] | None = Field(
        None,
        min_length=1,
        max_length=7,
        description="Days the window starts on (mon ... sun); every day when absent. Office hours: "
        "[mon, tue, wed, thu, fri].",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> FloorWindow:
        problems = Problems(self)
        if self.start == self.end:
            problems.add(
                ("end",),
                f"end ({self.end}) must differ from start: a window that ends when it starts is empty "
                "(for a floor all day, raise min_replicas instead)",
                self.end,
            )
        check_days_once(problems, self.days)
        problems.raise_if_any()
        return self

    def span(self) -> tuple[int, int]:
        """[start, end) in minutes after midnight; end may exceed a day (past midnight)."""
        start, end = minutes(self.start), minutes(self.end)
        return start, end if end > start else end + MINUTES_PER_DAY

    def weekdays(self) -> tuple[int, ...]:
        """Days the window starts on, Monday 0."""
        return weekday_numbers(self.days)

    def end_weekdays(self) -> tuple[int, ...]:
        """Days the window ends on, Monday 0: the next day's for a window past midnight."""
        # A window ending at 00:00 ends on the next day too.
        wraps = self.span()[1] >= MINUTES_PER_DAY
        return tuple(sorted((d + 1) % 7 for d in self.weekdays())) if wraps else self.weekdays()

    @cached_property
    def week_spans(self) -> tuple[tuple[int, int], ...]:
        """[start, end) in minutes after Monday midnight, one per day it starts on; an end may
        pass the week's end (a Sunday night window). Kept once computed: the simulator asks
        active_at every simulated second (fields only decide equality, so the cache is not compared)."""
        start, end = self.span()
        return tuple((day * MINUTES_PER_DAY + start, day * MINUTES_PER_DAY + end) for day in self.weekdays())

    def active_at(self, minute_of_day: float, weekday: int = 0) -> bool:
        """Whether the floor is in force at a minute of the day of `weekday` (Monday 0)."""
        minute = (weekday % 7) * MINUTES_PER_DAY + minute_of_day % MINUTES_PER_DAY
        return any(start <= minute + shift < end for start, end in self.week_spans for shift in (0, MINUTES_PER_WEEK))

    def days_per_week(self) -> int:
        return len(self.weekdays())

    def days_shown(self) -> str:
        """The window's days as a summary line writes them after its hours (" mon/fri"; "" every day)."""
        return "" if self.days is None else f" {'/'.join(self.days)}"


class ScheduledFloors(Spec):
    """Daily or weekday windows with a higher floor, in one time zone."""

    timezone: TimeZone = Field("UTC", description="IANA time zone the windows' times are in (daylight saving applies).")
    windows: list[FloorWindow] = Field(
        min_length=1, max_length=MAX_WINDOWS, description="Windows that must not overlap."
    )

    @model_validator(mode="after")
    def _no_overlap(self) -> ScheduledFloors:
        problems = Problems(self)
        spans = [w.week_spans for w in self.windows]
        for i, a_spans in enumerate(spans):
            for j in range(i + 1, len(spans)):
                # On a circle of one week: compare each with the other shifted by a week.
                if any(
                    a_start < b_end + shift and b_start + shift < a_end
                    for a_start, a_end in a_spans
                    for b_start, b_end in spans[j]
                    for shift in (-MINUTES_PER_WEEK, 0, MINUTES_PER_WEEK)
                ):
                    first, second = self.windows[i], self.windows[j]
                    problems.add(
                        ("windows", j),
                        f"window {second.start}-{second.end}{_on(second)} overlaps window {first.start}-{first.end}"
                        f"{_on(first)} (windows.{i}): give each time of day one floor",
                        f"{second.start}-{second.end}",
                    )
        problems.raise_if_any()
        return self

    def floor_at(self, minute_of_day: float, weekday: int = 0) -> int:
        """The floor in force at a minute of the day of `weekday`, Monday 0 (0 outside every window)."""
        return max((w.min_replicas for w in self.windows if w.active_at(minute_of_day, weekday)), default=0)


def _on(window: FloorWindow) -> str:
    return "" if window.days is None else f" on {', '.join(WEEKDAYS[d] for d in window.weekdays())}"

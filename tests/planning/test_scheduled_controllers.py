"""Scheduled floors and the combined signal in the simulated controllers: the HPA's ratio maths
at its tolerance, KEDA's formula with and without cron floors, Application Auto Scaling's
scheduled MinCapacity, and replays where a floor lifts attainment on a daily shape."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
import yaml

from components.intent.autoscaling import AutoscalingPolicy
from components.intent.traffic import Traffic
from components.planning import traces, tuner
from components.planning.compare import declared_setup, default_trace, setup, simulate
from components.planning.controllers import REAL_TIME, DayClock, day_clock, hpa_proposal, scheduled_floor, stack_policy
from components.planning.floors import derived_schedule, hourly_floors, windows_from_hours
from components.planning.tuner import _policy, _Search, policy_json, stack_file_lines, tune
from tests.planning.helpers import eks_config, sagemaker_config, stack, with_model


@dataclass
class FakeProbe:
    """What Prometheus would show: fixed gauges, no history."""

    t: float = 0.0
    queued: float = 0.0
    batch: float = 0.0
    series: dict[str, float] = field(default_factory=dict)

    def waiting(self) -> float:
        return self.queued

    def running(self) -> float:
        return self.batch

    def ready(self) -> int:
        return 1

    def window(self, series: str, start: float, end: float) -> float:
        return self.series.get(series, 0.0) * max(0.0, end - start)


# One simulated second per minute of the day: t = 480 is 08:00.
MINUTE_CLOCK = DayClock(day_s=1440.0)
COMBINED = {"running_per_replica": 24, "queue_per_replica": 2}
WINDOW = {"timezone": "UTC", "windows": [{"start": "08:00", "end": "18:00", "min_replicas": 6}]}


def _policy_of(**fields) -> AutoscalingPolicy:
    return AutoscalingPolicy.model_validate({"min_replicas": 1, "max_replicas": 10, "scale_down_window_s": 300, **fields})


def _decide(policy: AutoscalingPolicy, current: int, t: float = 0.0, target: str = "eks", **gauges) -> int:
    controller = stack_policy(policy, target, MINUTE_CLOCK)
    return controller.decide(FakeProbe(t=t, **gauges), current)


@pytest.mark.parametrize(
    ("value", "current", "proposal"),
    [
        (10.0, 10, 10),  # on target
        (10.9, 10, 10),  # 9 % above: inside the 10 % tolerance
        (11.1, 10, 12),  # 11 % above: ceil(11.1)
        (9.1, 10, 10),  # 9 % below
        (8.9, 10, 9),  # 11 % below: ceil(8.9)
        # Exactly 10 % is 1.1 in float64 arithmetic, as the HPA computes it, which lies just
        # above 1 + 0.1: the HPA scales there, and so does the simulator.
        (11.0, 10, 11),
    ],
)
def test_hpa_proposals_follow_the_ratio_and_its_tolerance(value, current, proposal):
    assert hpa_proposal(value, 1.0, current) == proposal


def test_the_combined_signal_asks_for_the_replicas_worth_of_queue_and_batch():
    policy = _policy_of(combined=COMBINED)
    # 2 / 2 + 72 / 24 = 4 replicas' worth on 4 replicas: hold.
    assert _decide(policy, 4, queued=2, batch=72) == 4
    # 4 / 2 + 72 / 24 = 5: out by one.
    assert _decide(policy, 4, queued=4, batch=72) == 5
    # A full batch with nothing waiting keeps its replicas where queue depth alone would not.
    assert _decide(policy, 4, queued=0, batch=96) == 4
    assert _decide(_policy_of(signal="queue_depth", target=2), 4, queued=0, batch=96) < 4


def test_the_formula_reaches_the_hpa_in_whole_milli_units():
    policy = _policy_of(combined=COMBINED)
    # 96.0096 / 24 = 4.0004: KEDA truncates it to 4.000, so 3 replicas go to 4, not 5.
    assert _decide(policy, 3, queued=0, batch=96.0096) == 4
    # 4.001 survives the truncation: ceil gives 5.
    assert _decide(policy, 3, queued=0, batch=96.024) == 5


def test_a_cron_floor_inside_the_formula_is_a_maximum_and_reads_one_outside_its_window():
    policy = _policy_of(combined=COMBINED, schedule=WINDOW)
    # 08:00, load worth 2 replicas: the floor's 6 wins.
    assert _decide(policy, 2, t=480, queued=0, batch=48) == 6
    assert _decide(policy, 1, t=480, queued=0, batch=24) == 5, "scale-up is limited to max(100 %, 4 pods) per 15 s"
    # 07:59: the window has not started; the load's 2 stands.
    assert _decide(policy, 2, t=479, queued=0, batch=48) == 2
    # 08:00 with load worth 8: the formula's larger term.
    assert _decide(policy, 6, t=480, queued=4, batch=144) == 8


def test_a_cron_trigger_is_its_own_hpa_metric_without_a_formula():
    policy = _policy_of(signal="queue_depth", target=2, min_replicas=2, schedule=WINDOW)
    assert _decide(policy, 4, t=600, queued=0) == 6, "inside the window the floor's metric asks for 6"
    assert _decide(policy, 6, t=600, queued=0) == 6
    assert _decide(policy, 6, t=600, queued=20) == 10, "the queue's proposal is larger"
    assert _decide(policy, 2, t=1080, queued=0) == 2, "18:00 is outside the window"


def test_scheduled_actions_raise_min_capacity_at_once_and_target_tracking_scales_in_later():
    policy = _policy_of(signal="concurrency", target=16, min_replicas=2, schedule=WINDOW)
    controller = stack_policy(policy, "sagemaker", MINUTE_CLOCK)
    assert controller.decide(FakeProbe(t=480), 2) == 6, "MinCapacity 6 from 08:00"
    assert controller.decide(FakeProbe(t=1079), 6) == 6
    # After 18:00 MinCapacity is back at 2, but target tracking scales in only after its
    # 15 low datapoints: nothing moves at once.
    assert controller.decide(FakeProbe(t=1080), 6) == 6


def test_day_clocks_place_trace_seconds_in_the_day():
    assert REAL_TIME.minute(8 * 3600) == 480 and REAL_TIME.minute(86_400 + 60) == 1
    compressed = DayClock(day_s=1800.0)
    assert compressed.minute(900) == 720, "a generated day's middle is noon"
    assert compressed.seconds(60) == 75.0
    model_setup = setup(stack(eks_config()), stack(eks_config()).models[0])
    assert day_clock(default_trace(model_setup, "diurnal", 1800, seed=1)).day_s == 1800
    assert day_clock(default_trace(model_setup, "bursty", 1800, seed=1)) == REAL_TIME


def test_hourly_floors_cover_the_load_one_cold_start_ahead():
    # A step to 10 req/s from 09:00 to 18:00 of a real day; μ 2.5 req/s, a 30-minute lead.
    def rate(t):
        return 10.0 if 9 * 3600 <= t < 18 * 3600 else 1.0
    trace = traces.generate("office", rate, 10.0, 4.75, 86_400.0, seed=3, max_arrivals=2_000)
    floors = hourly_floors(trace, REAL_TIME, 2.5, 1800.0, 1.0, ceiling=10)
    assert floors[8] == 4, "08:00-09:00 must hold what 08:30-09:30 needs"
    assert floors[7] == 1 and floors[17] == 4 and floors[18] == 1
    windows = windows_from_hours(floors, min_replicas=1)
    assert [(w.start, w.end, w.min_replicas) for w in windows] == [("08:00", "18:00", 4)]


def test_runs_of_equal_floors_merge_across_midnight_and_past_the_window_limit():
    floors = [3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3]
    assert [(w.start, w.end, w.min_replicas) for w in windows_from_hours(floors, 1)] == [("22:00", "02:00", 3)]
    alternating = [2 + hour % 2 for hour in range(24)]
    windows = windows_from_hours(alternating, 1)
    assert len(windows) <= 12
    assert all(w.min_replicas == 3 for w in windows if w.span()[1] - w.span()[0] > 60)


def _diurnal_setup(target: str = "eks"):
    config = eks_config() if target == "eks" else sagemaker_config()
    spec = stack(config)
    model_setup = setup(spec, spec.models[0])
    trace = default_trace(model_setup, "diurnal", 1800, seed=0)
    return model_setup, trace


@pytest.mark.parametrize("target", ["eks", "sagemaker"])
def test_a_floor_ahead_of_the_daily_peak_lifts_attainment(target):
    model_setup, trace = _diurnal_setup(target)
    policy = model_setup.model.autoscaling
    clock = day_clock(trace)
    schedule = derived_schedule(policy, trace, clock, model_setup.capacity.requests_per_s, model_setup.timings.cold_s, 1.0)
    assert schedule is not None
    floored = _policy(policy, schedule=schedule.model_dump(mode="json"))
    without = simulate(model_setup, stack_policy(policy, target, clock), trace)
    with_floors = simulate(model_setup, stack_policy(floored, target, clock), trace)
    assert with_floors.attainment >= without.attainment + 0.2, (without.attainment, with_floors.attainment)
    # The floor is held only through its windows: fewer GPU-hours than the peak all day.
    peak_all_day = simulate(model_setup, stack_policy(_policy(policy, min_replicas=policy.max_replicas), target, clock), trace)
    assert with_floors.gpu_hours < peak_all_day.gpu_hours


def _office_hours(model_setup, seed: int, day_s: float = 3600.0) -> traces.Trace:
    """Office hours compressed into `day_s`: 10 % of the ceiling, 80 % from 09:00 to 18:00."""
    low, high = 0.1 * model_setup.ceiling_rps, 0.8 * model_setup.ceiling_rps
    def rate(t):
        return high if 0.375 * day_s <= t % day_s < 0.75 * day_s else low
    trace = traces.generate("office hours", rate, high, (15 * low + 9 * high) / 24, day_s, model_setup.workload, seed)
    return replace(trace, day_s=day_s)


@pytest.fixture
def own_shape_only(monkeypatch):
    """The tuner's search on the stack's own signal and target (floors, windows, schedules)."""
    monkeypatch.setattr(tuner, "_shapes", lambda s: iter([{
        "signal": s.model.autoscaling.signal, "target": s.model.autoscaling.target, "warm_pool": 0,
        "scale_to_zero": False, "combined": None,
    }]))


def test_the_tuner_recommends_floors_where_they_meet_the_target_for_less(own_shape_only):
    spec = stack(with_model(eks_config(), 0, autoscaling={"max_replicas": 4}))
    model_setup = setup(spec, spec.models[0])
    runs = [_office_hours(model_setup, seed) for seed in (0, 1000)]
    tuning = tune(model_setup, runs)
    best = tuning.best
    assert best.meets and best.policy.schedule is not None
    # Cheaper than the cheapest floor that meets the target without a schedule.
    plain = _Search(model_setup, runs).cheapest_floor({
        "signal": best.policy.signal, "target": best.policy.target, "warm_pool": 0, "scale_to_zero": False, "combined": None,
    })
    assert plain is not None and plain.meets and best.gpu_hours < plain.gpu_hours
    # simulation.json and the stack-file lines carry the schedule as the stack file writes it.
    carried = policy_json(best.policy)
    assert AutoscalingPolicy.model_validate(carried) == best.policy
    line = next(line for line in stack_file_lines(tuning, "x.yaml") if line.strip().startswith("schedule:"))
    assert yaml.safe_load(line.split("#")[0].strip())["schedule"] == carried["schedule"]


def test_the_tuner_keeps_floors_out_where_a_higher_floor_all_day_is_cheaper(own_shape_only):
    model_setup, trace = _diurnal_setup()
    stress = default_trace(model_setup, "diurnal", 1800, seed=1000)
    tuning = tune(model_setup, [trace, stress])
    assert tuning.best.meets
    search = _Search(model_setup, [trace, stress])
    candidates = list(search.scheduled(tuning.best.policy))
    with_floors = [c for c in candidates if c.meets and c.policy.schedule is not None]
    assert with_floors, "floors meet the target too"
    # A generated day of 30 minutes makes the 7.5-minute cold start a quarter of the day:
    # the floors must rise so early that a higher floor all day costs less, and is kept.
    assert tuning.best.policy.schedule is None
    assert all(c.gpu_hours > tuning.best.gpu_hours for c in with_floors)


def test_floors_derived_from_a_declared_working_day_rise_a_cold_start_before_opening_and_end_after_closing():
    config = with_model(eks_config(), 0, traffic={"peak_rps": 3.0, "shape": "business_hours", "trough_share": 0.05,
                                                  "opens": "08:00", "closes": "17:00"})
    spec = stack(config)
    found = declared_setup(spec, spec.models[0], None, 0)
    assert found is not None
    model_setup, trace = found
    assert trace.duration_s == 86_400
    policy = model_setup.model.autoscaling
    schedule = derived_schedule(policy, trace, day_clock(trace), model_setup.capacity.requests_per_s,
                                model_setup.timings.cold_s, 1.0)
    assert schedule is not None
    starts = sorted(w.span()[0] for w in schedule.windows)
    ends = sorted(w.span()[1] for w in schedule.windows)
    # The first window opens in the hour before the ramp reaches the peak (a cold start ahead of
    # 08:00 and its half-hour ramp), the last closes once the load is back at the trough.
    assert 6 * 60 <= starts[0] <= 8 * 60, schedule
    assert 17 * 60 <= ends[-1] <= 19 * 60, schedule
    night = [w for w in schedule.windows if w.active_at(3 * 60)]
    assert not night
    assert max(w.min_replicas for w in schedule.windows if w.active_at(12 * 60)) > policy.min_replicas


def _office_recording(tmp_path, opens_at: str, days: int = 2):
    """Two days of a 10 req/s office step (09:00-18:00 UTC, 1 req/s outside) written as a
    Prometheus rate export whose first row is at `opens_at` UTC on 2026-11-30."""
    from datetime import datetime, timedelta, timezone

    from components.planning.recorded import from_csv

    start = datetime.fromisoformat(f"2026-11-30T{opens_at}:00+00:00")
    rows = ["timestamp,requests_per_s,prompt_tokens,output_tokens"]
    for minute in range(days * 1440):
        moment = start + timedelta(minutes=minute)
        rate = 10 if 9 <= moment.astimezone(timezone.utc).hour < 18 else 1
        rows.append(f"{moment.isoformat()},{rate},500,100")
    path = tmp_path / f"office-{opens_at.replace(':', '')}.csv"
    path.write_text("\n".join(rows) + "\n")
    return from_csv(path)


def test_a_recording_keeps_its_wall_clock_start_in_the_schedules_zone(tmp_path):
    trace = _office_recording(tmp_path, "10:15", days=1)
    assert trace.start_epoch_s == datetime_of("2026-11-30T10:15:00+00:00")
    assert day_clock(trace).start_minute == 10 * 60 + 15
    # 10:15 UTC is 05:15 in New York (EST on 30 November) and 19:15 in Tokyo.
    assert day_clock(trace, "America/New_York").start_minute == 5 * 60 + 15
    assert day_clock(trace, "Asia/Tokyo").minute(3600) == 20 * 60 + 15
    # Seconds since an arbitrary origin carry no wall clock: midnight, as before.
    relative = tmp_path / "relative.csv"
    relative.write_text("timestamp_s,prompt_tokens,output_tokens\n0,10,5\n90,10,5\n")
    from components.planning.recorded import from_csv

    assert from_csv(relative).start_epoch_s is None and day_clock(from_csv(relative)) == REAL_TIME


@pytest.mark.parametrize("opens_at", ["00:00", "10:15", "17:30"])
def test_floors_derived_from_a_recording_land_on_its_office_hours_whatever_hour_it_opens(tmp_path, opens_at):
    trace = _office_recording(tmp_path, opens_at)
    # μ 3 req/s: the office minutes (10 req/s, Poisson: up to ~11.2 in the busiest one) need 4.
    floors = hourly_floors(trace, day_clock(trace), 3.0, 1800.0, 1.0, ceiling=10)
    # Read as if it opened at midnight, a 10:15 recording put the office hours at 22:45-07:45.
    windows = windows_from_hours(floors, min_replicas=1)
    assert [(w.start, w.end, w.min_replicas) for w in windows] == [("08:00", "18:00", 4)]


def test_the_stack_schedule_is_replayed_at_the_recordings_own_hours(tmp_path):
    trace = _office_recording(tmp_path, "10:15", days=1)
    policy = _policy_of(min_replicas=1, max_replicas=8, schedule={
        "timezone": "America/New_York", "windows": [{"start": "04:00", "end": "13:00", "min_replicas": 4}]})
    floor = scheduled_floor(policy, day_clock(trace, "America/New_York"))
    assert floor is not None
    # 04:00-13:00 in New York is 09:00-18:00 UTC: 0 s into the trace is 10:15 UTC (inside),
    # 8 h in is 18:15 UTC (outside), 23 h in is 09:15 UTC the next day (inside).
    assert floor(0.0) == 4 and floor(8 * 3600.0) == 0 and floor(23 * 3600.0) == 4


def datetime_of(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def test_a_recordings_opening_time_is_reported(tmp_path):
    trace = _office_recording(tmp_path, "10:15", days=1)
    assert trace.opens_at() == "2026-11-30T10:15:00Z"
    assert traces.rescaled(trace, 2 * trace.busiest_minute_rps()).opens_at() == "2026-11-30T10:15:00Z"
    assert traces.reshuffled(trace, seed=4).opens_at() == "2026-11-30T10:15:00Z"
    assert traces.steady(1, 60).opens_at() is None


def test_a_weekday_floor_is_replayed_on_the_recordings_own_days(tmp_path):
    # 30 November 2026 is a Monday; a recording from Friday 4 December 10:15 UTC.
    from components.planning.recorded import from_csv

    path = tmp_path / "weekend.csv"
    path.write_text("timestamp,prompt_tokens,output_tokens\n2026-12-04T10:15:00Z,10,5\n2026-12-06T10:15:00Z,10,5\n")
    trace = from_csv(path)
    clock = day_clock(trace)
    assert clock.weekday(0) == 4 and clock.weekday(14 * 3600) == 5 and clock.weekday(2 * 86_400) == 6
    policy = _policy_of(min_replicas=1, max_replicas=8, schedule={"timezone": "UTC", "windows": [
        {"start": "08:00", "end": "18:00", "min_replicas": 4, "days": ["mon", "tue", "wed", "thu", "fri"]}]})
    floor = scheduled_floor(policy, clock)
    assert floor is not None
    # Friday 10:15 inside; Saturday 10:15 (24 h later) outside; Friday 18:15 outside.
    assert floor(0.0) == 4 and floor(86_400.0) == 0 and floor(8 * 3600.0) == 0
    # A trace without a wall clock is a Monday: a working day.
    assert REAL_TIME.weekday(0) == 0 and scheduled_floor(policy, REAL_TIME)(9 * 3600) == 4


def _office_week(weekend_rate: float) -> traces.Trace:
    """A week recorded from Monday 30 November 2026 00:00 UTC: 10 req/s 09:00-18:00 on weekdays,
    1 req/s outside them, `weekend_rate` all weekend (drawn as its intensity: a week of
    arrivals one by one would be 1.7 M requests for what reads only the rate)."""
    def rate(t):
        day, hour = divmod(int(t // 3600), 24)
        return weekend_rate if day >= 5 else (10.0 if 9 <= hour < 18 else 1.0)

    week = traces.generate("office week", rate, 10.0, 4.0, 7 * 86_400.0, seed=5, max_arrivals=2_000)
    return replace(week, start_epoch_s=datetime_of("2026-11-30T00:00:00+00:00"))


def test_a_recorded_week_gets_its_floors_on_the_days_that_need_them():
    from components.planning.floors import covers_week

    trace = _office_week(weekend_rate=1)
    assert covers_week(trace)
    policy = _policy_of(min_replicas=1, max_replicas=10)
    schedule = derived_schedule(policy, trace, day_clock(trace), 3.0, 1800.0, 1.0)
    assert schedule is not None
    assert [(w.start, w.end, w.min_replicas, w.days) for w in schedule.windows] == [
        ("08:00", "18:00", 4, ["mon", "tue", "wed", "thu", "fri"])]
    # Read as one pooled day, the weekend would hold the office floor too (2 days of 7 paid for nothing).
    assert windows_from_hours(hourly_floors(trace, day_clock(trace), 3.0, 1800.0, 1.0, 10), 1)[0].days is None


def test_a_recorded_week_with_a_busy_weekend_gets_windows_per_group_of_days_and_one_without_a_clock_pools_them():
    week = _office_week(weekend_rate=1)
    busy_weekend = _office_week(weekend_rate=10)
    policy = _policy_of(min_replicas=1, max_replicas=10)
    # Weekends at 10 req/s all day: their own windows (all day is two halves); Friday's last hour
    # already covers Saturday's first half hour, so Friday is a group of its own.
    windows = derived_schedule(policy, busy_weekend, day_clock(busy_weekend), 3.0, 1800.0, 1.0).windows
    weekend, thursday = ["sat", "sun"], ["mon", "tue", "wed", "thu"]
    assert sorted((w.start, w.end, w.min_replicas, tuple(w.days or ())) for w in windows) == sorted([
        ("08:00", "18:00", 4, tuple(thursday)),
        ("08:00", "18:00", 4, ("fri",)), ("23:00", "00:00", 4, ("fri",)),
        ("00:00", "12:00", 4, tuple(weekend)), ("12:00", "00:00", 4, tuple(weekend)),
    ])
    # A recording without its weekdays (seconds from zero) keeps daily windows.
    pooled = replace(week, start_epoch_s=None)
    assert all(w.days is None for w in derived_schedule(policy, pooled, day_clock(pooled), 3.0, 1800.0, 1.0).windows)


def test_a_request_log_of_a_week_to_sunday_2359_covers_the_week_and_days_differing_only_below_the_floor_group():
    from components.planning.floors import covers_week

    week = _office_week(weekend_rate=1)
    logged = replace(week, duration_s=7 * 86_400.0 - 60)
    assert covers_week(logged)
    assert not covers_week(replace(week, duration_s=6 * 86_400.0))
    # Nights at 0.1 req/s on Monday and 0 elsewhere: floors 1 and 0, both below a window.
    def rate(t):
        day, hour = divmod(int(t // 3600), 24)
        if day >= 5:
            return 0.0
        return 10.0 if 9 <= hour < 18 else (0.1 if day == 0 else 0.0)

    uneven = replace(traces.generate("uneven", rate, 10.0, 3.0, 7 * 86_400.0, seed=2, max_arrivals=2_000),
                     start_epoch_s=datetime_of("2026-11-30T00:00:00+00:00"))
    windows = derived_schedule(_policy_of(min_replicas=1, max_replicas=10), uneven, day_clock(uneven), 3.0, 1800.0, 1.0).windows
    assert [(w.start, w.end, w.days) for w in windows] == [("08:00", "18:00", ["mon", "tue", "wed", "thu", "fri"])]


def test_a_declared_office_week_gets_its_floors_on_its_open_days_and_the_preview_replays_an_open_day():
    traffic = Traffic(peak_rps=10.0, shape="business_hours", trough_share=0.1, days=["mon", "tue", "wed", "thu", "fri"])
    policy = _policy_of(min_replicas=1, max_replicas=10)
    week = traces.declared(traffic, max_arrivals=2_000)
    windows = derived_schedule(policy, week, day_clock(week), 3.0, 1800.0, 1.0).windows
    assert [(w.start, w.end, w.min_replicas, w.days) for w in windows] == [("08:00", "18:00", 4, ["mon", "tue", "wed", "thu", "fri"])]
    # Open every day, the same hours hold every day.
    daily = traces.declared(traffic.model_copy(update={"days": None}), max_arrivals=2_000)
    assert [w.days for w in derived_schedule(policy, daily, day_clock(daily), 3.0, 1800.0, 1.0).windows] == [None]
    # A weekend business: the open day the preview replays is a Saturday, so a window on
    # Saturdays and Sundays is in force there.
    weekend = traces.declared(traffic.model_copy(update={"days": ["sat", "sun"]}), max_arrivals=2_000, open_day_only=True)
    clock = day_clock(weekend)
    assert clock.weekday(0) == 5
    floors = _policy_of(min_replicas=1, max_replicas=8, schedule={"timezone": "UTC", "windows": [
        {"start": "08:00", "end": "18:00", "min_replicas": 4, "days": ["sat", "sun"]}]})
    assert scheduled_floor(floors, clock)(12 * 3600.0) == 4


def test_a_declared_week_raises_sunday_nights_floor_for_monday_and_the_preview_replays_a_night_shifts_busiest_day():
    policy = _policy_of(min_replicas=1, max_replicas=10)
    early = Traffic(peak_rps=10.0, shape="business_hours", trough_share=0.1, opens="00:30", closes="08:00", days=["mon"])
    week = traces.declared(early, max_arrivals=2_000)
    windows = derived_schedule(policy, week, day_clock(week), 3.0, 1800.0, 1.0).windows
    # Monday's 00:30 ramp, one cold start (30 min) ahead, is Sunday 23:00: the week wraps.
    assert ("23:00", "00:00", ["sun"]) in [(w.start, w.end, w.days) for w in windows]
    assert ("00:00", "08:00", ["mon"]) in [(w.start, w.end, w.days) for w in windows]
    # A night shift on weekdays: Monday's morning follows a closed Sunday, Tuesday's Monday's
    # shift, so the preview replays Tuesday, whose morning and evening both carry the peak.
    nights = Traffic(peak_rps=10.0, shape="business_hours", trough_share=0.1, opens="22:00", closes="06:00",
                     days=["mon", "tue", "wed", "thu", "fri"])
    day = traces.declared(nights, max_arrivals=2_000, open_day_only=True)
    assert day.start_weekday == 1 and min(day.intensity[: 5 * 3600]) == max(day.intensity[23 * 3600 :]) == 10.0
    # Friday only: the preview's Friday morning is at the trough, as the week's is.
    friday = traces.declared(nights.model_copy(update={"days": ["fri"]}), max_arrivals=2_000, open_day_only=True)
    assert max(friday.intensity[: 5 * 3600]) == 1.0 and min(friday.intensity[23 * 3600 :]) == 10.0

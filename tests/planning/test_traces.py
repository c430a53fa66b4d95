"""Seeded trace generators and recorded traces."""
from pathlib import Path

import pytest

from components.intent.scheduled_floors import WEEKDAYS
from components.intent.traffic import Traffic
from components.planning.capacity import Workload
from components.planning.recorded import from_csv
from components.planning.traces import (
    DAY_S,
    FLUID_MAX_ARRIVALS,
    as_fluid,
    bursty,
    business_hours,
    declared,
    diurnal,
    generated_duration,
    relative,
    rescaled,
    reshuffled,
    steady,
    step,
)

DATA = Path(__file__).parent / "data"


def test_generators_are_reproducible_from_their_seed():
    assert steady(2, 600, seed=7) == steady(2, 600, seed=7)
    assert steady(2, 600, seed=7).arrivals != steady(2, 600, seed=8).arrivals


def test_steady_rate_and_lengths_follow_the_workload():
    trace = steady(5, 2000, Workload(prompt_tokens=512, output_tokens=128), seed=1)
    assert trace.requests == pytest.approx(10_000, rel=0.05)
    assert sum(trace.prompts) / len(trace.prompts) == pytest.approx(512, rel=0.1)
    assert sum(trace.outputs) / len(trace.outputs) == pytest.approx(128, rel=0.1)
    assert list(trace.arrivals) == sorted(trace.arrivals)


def test_a_generated_or_declared_day_is_a_real_day_unless_a_duration_is_asked_for():
    assert generated_duration("diurnal") == DAY_S == 86_400
    assert generated_duration("bursty") == generated_duration("steady") == 1800
    assert generated_duration("diurnal", 3600) == 3600
    day = declared(Traffic(peak_rps=0.05, shape="diurnal", trough_share=0.1))
    assert day.duration_s == DAY_S and day.day_s == DAY_S
    assert declared(Traffic(peak_rps=0.05, shape="bursty")).duration_s == 1800


def _hourly(trace):
    return trace.rate_per_bucket(3600)


def test_business_hours_hold_the_peak_from_opening_to_closing_and_the_trough_outside():
    rates = _hourly(business_hours(0.2, 2.0, DAY_S, seed=4))
    assert all(r == pytest.approx(2.0, rel=0.08) for r in rates[10:17]), rates
    assert all(r == pytest.approx(0.2, rel=0.25) for r in rates[0:8] + rates[19:24]), rates
    # An hour's ramp centred on 09:00 and 18:00: 08:00-09:00 and 18:00-19:00 carry its low half.
    for edge in (rates[8], rates[18]):
        assert 0.25 < edge < 0.6
    assert rates[9] == pytest.approx(rates[17], rel=0.15) and 1.4 < rates[9] < 2.0
    assert generated_duration("business_hours") == DAY_S


def test_business_hours_that_run_past_midnight_wrap_and_a_declared_working_day_is_a_real_day():
    night = _hourly(business_hours(0.2, 2.0, DAY_S, seed=5, opens_min=22 * 60, closes_min=6 * 60))
    assert all(r == pytest.approx(2.0, rel=0.08) for r in night[23:] + night[:5]), night
    assert all(r == pytest.approx(0.2, rel=0.25) for r in night[7:21]), night
    declared_day = declared(Traffic(peak_rps=1.0, shape="business_hours", trough_share=0.1, opens="07:30", closes="16:00"))
    assert declared_day.duration_s == DAY_S and declared_day.day_s == DAY_S
    hourly = _hourly(declared_day)
    assert min(hourly[8:15]) > 0.9 * max(hourly)  # 08:00-15:00: past the ramp around 07:30
    assert max(hourly[17:]) < 0.2 and max(hourly[:6]) < 0.2


def _hourly_intensity(trace):
    """Mean requests per second the generator drew from, hour by hour (exact: no arrivals counted)."""
    return [sum(trace.intensity[h * 3600 : (h + 1) * 3600]) / 3600 for h in range(len(trace.intensity) // 3600)]


def test_business_hours_on_some_days_are_a_week_whose_closed_days_stay_at_the_trough():
    traffic = Traffic(peak_rps=2.0, shape="business_hours", trough_share=0.1, days=["tue", "wed", "thu", "fri", "sat"])
    # Few arrivals (weighted): the week's shape is read from the rates the generator drew from.
    week = declared(traffic, max_arrivals=2_000)
    assert week.duration_s == 7 * DAY_S and week.day_s == DAY_S and week.start_weekday == 0
    assert "tue/wed/thu/fri/sat, a week" in week.name
    # 2 000 arrivals for the week's mean load: 0.2 + 1.8 x (9/24 x 5/7) req/s.
    assert week.requests == pytest.approx((0.2 + 1.8 * 9 / 24 * 5 / 7) * 7 * DAY_S, rel=0.05)
    hourly = _hourly_intensity(week)
    for day in range(7):
        noon = hourly[24 * day + 10 : 24 * day + 17]
        assert noon == pytest.approx([0.2] * 7 if day in (0, 6) else [2.0] * 7), (day, noon)
    # A night shift opening on Fridays runs into Saturday morning, as a floor window would.
    nights = _hourly_intensity(declared(Traffic(peak_rps=2.0, shape="business_hours", trough_share=0.1, opens="22:00",
                                                closes="06:00", days=["fri"]), max_arrivals=2_000))
    friday, saturday = 24 * 4, 24 * 5
    assert nights[friday : friday + 5] == pytest.approx([0.2] * 5)
    assert nights[friday + 23 : saturday + 5] == pytest.approx([2.0] * 6)
    assert max(nights[saturday + 7 :] + nights[: friday + 21]) == pytest.approx(0.2)
    # The preview replays one open day, on its own weekday: a week would cost seven.
    day = declared(traffic, max_arrivals=2_000, open_day_only=True)
    assert day.duration_s == DAY_S and day.start_weekday == 1 and "tue (an open day of the week)" in day.name
    assert _hourly_intensity(day)[10:17] == pytest.approx([2.0] * 7)
    # Open every day is the one working day it always was.
    every_day = Traffic(peak_rps=2.0, shape="business_hours", trough_share=0.1)
    all_seven = Traffic(peak_rps=2.0, shape="business_hours", trough_share=0.1, days=list(WEEKDAYS))
    assert declared(all_seven, max_arrivals=2_000) == declared(every_day, max_arrivals=2_000)
    assert declared(every_day, max_arrivals=2_000).duration_s == DAY_S


def test_diurnal_peaks_in_the_middle():
    rates = diurnal(1, 9, 3600, seed=2).rate_per_bucket(600)
    assert rates[0] < rates[2] and rates[-1] < rates[3]
    assert max(rates) == pytest.approx(9 * 0.93, rel=0.15)


def test_bursty_traffic_has_bursts():
    trace = bursty(1, 10, 7200, seed=3)
    per_minute = trace.rate_per_bucket(60)
    assert max(per_minute) > 6 and min(per_minute) < 2


def test_step_changes_level_at_its_time():
    rates = step(1, 4, 300, 600, seed=4).rate_per_bucket(300)
    assert rates[0] == pytest.approx(1, rel=0.25) and rates[1] == pytest.approx(4, rel=0.15)


def test_llm_traces_replay_one_arrival_per_request_and_only_fluid_ones_are_thinned():
    assert steady(20, 3600, seed=5).weight == 1
    fluid = steady(1000, 3600, seed=5, max_arrivals=FLUID_MAX_ARRIVALS)
    assert fluid.weight > 1 and len(fluid.arrivals) <= 1_100
    assert fluid.requests == pytest.approx(3_600_000, rel=0.05)
    assert sum(fluid.per_second()) == pytest.approx(3_600_000)


def test_relative_traces_scale_with_the_ceiling():
    low = relative("bursty", 10, 3600, seed=6)
    high = relative("bursty", 20, 3600, seed=6)
    assert high.requests == pytest.approx(2 * low.requests, rel=0.1)


def test_contexts_are_clipped_to_the_model():
    trace = steady(1, 600, Workload(prompt_tokens=3000, output_tokens=3000), seed=9).clipped(4096)
    assert all(p + o <= 4096 for p, o in zip(trace.prompts, trace.outputs))


@pytest.mark.parametrize("factor", [0.4, 2.5])
def test_trace_peak_puts_the_busiest_minute_where_asked(factor):
    conv = from_csv(DATA / "azure_llm_2023_conv_sample.csv")
    target = factor * conv.busiest_minute_rps()
    scaled = rescaled(conv, target, seed=3)
    assert scaled.busiest_minute_rps() == pytest.approx(target, rel=0.12)
    assert scaled.requests == pytest.approx(factor * conv.requests, rel=0.06)
    assert list(scaled.arrivals) == sorted(scaled.arrivals) and scaled.weight == 1
    assert scaled.workload().prompt_tokens == pytest.approx(conv.workload().prompt_tokens, rel=0.1)
    assert rescaled(conv, target, seed=3) == scaled



def test_a_recording_shorter_than_a_minute_is_rescaled_by_its_own_rate(tmp_path):
    # Three requests in two seconds arrive at 1.5 req/s. Read as three in a minute (0.05),
    # TRACE_PEAK 30 stretched them to 1,800 requests in two seconds: 900 req/s, not 30.
    path = tmp_path / "burst.csv"
    path.write_text("timestamp_s,prompt_tokens,output_tokens\n0,100,10\n1,100,10\n2,100,10\n")
    burst = from_csv(path)
    assert burst.duration_s <= 3
    assert burst.busiest_minute_rps() == pytest.approx(3 / burst.duration_s)
    scaled = rescaled(burst, 30.0, seed=1)
    assert scaled.requests == pytest.approx(30.0 * burst.duration_s, rel=0.1)
    assert scaled.busiest_minute_rps() == pytest.approx(30.0, rel=0.1)


def test_a_trace_thinned_to_a_few_requests_a_minute_says_which_busiest_minute_it_drew():
    conv = from_csv(DATA / "azure_llm_2023_conv_sample.csv")
    target = 0.01 * conv.busiest_minute_rps()
    sparse = rescaled(conv, target, seed=3)
    drawn = sparse.busiest_minute_rps()
    assert drawn > 1.1 * target
    assert sparse.name.endswith(f"(busiest minute {target:.3g} req/s asked, {drawn:.3g} drawn: too few requests a "
                                "minute for it to land there)")
    # Where the minute lands within a tenth of the peak asked, the name gives the peak alone.
    dense = rescaled(conv, 0.4 * conv.busiest_minute_rps(), seed=3)
    assert dense.name.endswith(f"(busiest minute {0.4 * conv.busiest_minute_rps():.3g} req/s)")


def test_a_reshuffled_trace_keeps_its_requests_and_moves_its_arrivals():
    conv = from_csv(DATA / "azure_llm_2023_conv_sample.csv")
    moved = reshuffled(conv, seed=1)
    assert moved.requests == conv.requests and sorted(moved.prompts) == sorted(conv.prompts)
    assert moved.arrivals != conv.arrivals
    assert 0 <= min(moved.arrivals) and max(moved.arrivals) <= conv.duration_s
    # Minutes keep roughly their load: arrivals move by at most a minute.
    before, after = conv.rate_per_bucket(600), moved.rate_per_bucket(600)
    assert all(abs(a - b) <= 0.25 * b + 0.2 for a, b in zip(after, before))


def test_a_recording_for_the_fluid_replay_keeps_its_load_per_second_in_few_arrivals():
    recorded = from_csv(DATA / "azure_llm_2023_conv_sample.csv")
    fluid = as_fluid(recorded, max_arrivals=500)
    assert fluid.intensity is not None and len(fluid.arrivals) <= 500
    assert sum(fluid.intensity) == pytest.approx(recorded.requests)
    assert fluid.requests == pytest.approx(recorded.requests, rel=0.01)
    assert fluid.intensity == tuple(recorded.rate_per_bucket(1.0))
    # Rescaled as a load, not as millions of copies: the busiest minute lands on the peak asked.
    big = rescaled(fluid, 5000.0, seed=3)
    assert len(big.arrivals) == len(fluid.arrivals)
    busiest = max(sum(big.intensity[i : i + 60]) / len(big.intensity[i : i + 60]) for i in range(0, len(big.intensity), 60))
    assert busiest == pytest.approx(5000.0)
    moved = reshuffled(big, seed=4)
    assert sum(moved.intensity) == pytest.approx(sum(big.intensity)) and moved.intensity != big.intensity

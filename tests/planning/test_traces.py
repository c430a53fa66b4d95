"""Seeded trace generators and recorded traces."""
from pathlib import Path

import pytest

from components.intent.traffic import Traffic
from components.planning.capacity import Workload
from components.planning.traces import (
    DAY_S,
    FLUID_MAX_ARRIVALS,
    TraceError,
    as_fluid,
    bursty,
    business_hours,
    declared,
    diurnal,
    from_csv,
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


def test_our_csv_format(tmp_path: Path):
    path = tmp_path / "trace.csv"
    path.write_text("timestamp_s,prompt_tokens,output_tokens\n10.5,100,20\n10,50,10\n12,70,0\n")
    trace = from_csv(path)
    assert trace.arrivals == (0.0, 0.5)
    assert trace.prompts == (50, 100) and trace.outputs == (10, 20)
    assert trace.name == "trace.csv (2 requests)"


def test_burstgpt_columns(tmp_path: Path):
    path = tmp_path / "BurstGPT_1.csv"
    path.write_text("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n"
                    "6,GPT-4,1087,0,1087,Conversation log\n9,ChatGPT,300,120,420,Conversation log\n")
    trace = from_csv(path)
    assert trace.arrivals == (0.0, 4.0) and trace.outputs == (18, 120)


def test_the_azure_public_traces_replay_as_published(tmp_path: Path):
    # AzurePublicDataset's AzureLLMInferenceTrace_*.csv: date-times with seven fractional digits.
    path = tmp_path / "AzureLLMInferenceTrace_conv.csv"
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n"
                    "2023-11-16 18:15:50.9951690,396,109\n2023-11-16 18:16:46.6805900,879,0\n"
                    "2023-11-16 18:17:01.1234567,1200,250\n")
    trace = from_csv(path)
    assert trace.prompts == (374, 396, 1200) and trace.outputs == (44, 109, 250)
    assert trace.arrivals == pytest.approx((0.0, 4.314579, 74.442866), abs=1e-6)
    # An offset or Z is honoured; numbers stay seconds.
    zoned = tmp_path / "zoned.csv"
    zoned.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2024-05-10T00:00:00Z,10,5\n2024-05-10T02:00:01+02:00,10,5\n")
    assert from_csv(zoned).arrivals == (0.0, 1.0)


def test_bad_csv_files_say_where(tmp_path: Path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(TraceError, match="nope.csv: cannot read the trace"):
        from_csv(missing)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("time,in,out\n1,2,3\n")
    with pytest.raises(TraceError) as caught:
        from_csv(wrong)
    assert str(caught.value) == f"{wrong}: needs one of the columns timestamp_s, timestamp, Timestamp, TIMESTAMP; found time, in, out"
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp_s,prompt_tokens,output_tokens\n1,2,3\nsoon,2,3\n")
    with pytest.raises(TraceError) as caught:
        from_csv(bad)
    assert str(caught.value) == (
        f"{bad}:3: timestamp_s, prompt_tokens and output_tokens must be numbers (a time may also be an ISO 8601 "
        "date-time); got 'soon', '2', '3'"
    )


def test_a_csv_carries_its_own_request_shape_and_prefix_hits(tmp_path: Path):
    path = tmp_path / "cached.csv"
    path.write_text("timestamp_s,prompt_tokens,output_tokens,cached_tokens\n0,2000,100,1500\n1,1000,300,0\n2,3000,200,9999\n")
    trace = from_csv(path)
    assert trace.workload() == Workload(prompt_tokens=2000, output_tokens=200)
    # A hit never covers the whole prompt: the last token is always computed.
    assert trace.cached == (1500, 0, 2999)


def test_the_azure_samples_replay_with_their_own_lengths():
    conv = from_csv(DATA / "azure_llm_2023_conv_sample.csv")
    code = from_csv(DATA / "azure_llm_2023_code_sample.csv")
    assert conv.requests == 3_874 and code.requests == 2_940 and conv.weight == code.weight == 1
    assert 3_300 < conv.duration_s < 3_700
    # Code completion: long prompts, short outputs; conversation: the reverse balance.
    assert code.workload().prompt_tokens > 1.5 * conv.workload().prompt_tokens
    assert code.workload().output_tokens < conv.workload().output_tokens


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

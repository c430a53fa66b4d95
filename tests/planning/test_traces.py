"""Seeded trace generators and recorded traces."""
from pathlib import Path

import pytest

from components.planning.capacity import Workload
from components.planning.traces import TraceError, bursty, diurnal, from_csv, relative, steady, step


def test_generators_are_reproducible_from_their_seed():
    assert steady(2, 600, seed=7) == steady(2, 600, seed=7)
    assert steady(2, 600, seed=7).arrivals != steady(2, 600, seed=8).arrivals


def test_steady_rate_and_lengths_follow_the_workload():
    trace = steady(5, 2000, Workload(prompt_tokens=512, output_tokens=128), seed=1)
    assert trace.requests == pytest.approx(10_000, rel=0.05)
    assert sum(trace.prompts) / len(trace.prompts) == pytest.approx(512, rel=0.1)
    assert sum(trace.outputs) / len(trace.outputs) == pytest.approx(128, rel=0.1)
    assert list(trace.arrivals) == sorted(trace.arrivals)


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


def test_huge_traces_are_thinned_into_weighted_arrivals():
    trace = steady(1000, 3600, seed=5)
    assert trace.weight > 1 and len(trace.arrivals) <= 21_000
    assert trace.requests == pytest.approx(3_600_000, rel=0.05)
    assert sum(trace.per_second()) == pytest.approx(3_600_000)


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


def test_bad_csv_files_say_where(tmp_path: Path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(TraceError, match="nope.csv: cannot read the trace"):
        from_csv(missing)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("time,in,out\n1,2,3\n")
    with pytest.raises(TraceError) as caught:
        from_csv(wrong)
    assert str(caught.value) == f"{wrong}: needs one of the columns timestamp_s, timestamp, Timestamp; found time, in, out"
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp_s,prompt_tokens,output_tokens\n1,2,3\nsoon,2,3\n")
    with pytest.raises(TraceError) as caught:
        from_csv(bad)
    assert str(caught.value) == (
        f"{bad}:3: timestamp_s, prompt_tokens and output_tokens must be numbers; got 'soon', '2', '3'"
    )

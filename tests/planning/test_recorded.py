"""Recorded traces: request logs replayed row by row, rate exports expanded into arrivals."""
import math
from pathlib import Path

import pytest

from components.intent.traffic import Traffic
from components.planning.capacity import DEFAULT_WORKLOAD, Workload
from components.planning.recorded import MAX_SPAN_S, SHOWN_PROBLEMS, UNIX_TIME_CEILING_S, from_csv, from_file
from components.planning.traces import TraceError, declared, rescaled

DATA = Path(__file__).parent / "data"


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
    bad.write_text("timestamp_s,prompt_tokens,output_tokens\n1,2,3\nsoon,2,3\n4,-1,3\n5,inf,3\n")
    with pytest.raises(TraceError) as caught:
        from_csv(bad)
    # Every bad row at once, each with its line.
    assert str(caught.value) == (
        f"{bad}: rows that cannot be replayed:\n"
        "  line 3: timestamp_s, prompt_tokens and output_tokens must be finite numbers (a time may also be an ISO 8601 "
        "date-time); got 'soon', '2', '3'\n"
        "  line 4: times and token counts cannot be negative\n"
        "  line 5: timestamp_s, prompt_tokens and output_tokens must be finite numbers (a time may also be an ISO 8601 "
        "date-time); got '5', 'inf', '3'"
    )


def test_a_file_of_many_bad_rows_quotes_the_first_ten_and_counts_the_rest(tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp_s,prompt_tokens,output_tokens\n" + "x,1,1\n" * 25)
    with pytest.raises(TraceError) as caught:
        from_csv(bad)
    message = str(caught.value).splitlines()
    assert len(message) == 1 + SHOWN_PROBLEMS + 1
    assert message[1].startswith("  line 2: ") and message[SHOWN_PROBLEMS].startswith("  line 11: ")
    assert message[-1] == "  and 15 more lines"


def test_a_spreadsheet_export_with_a_byte_order_mark_reads_its_first_column(tmp_path: Path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefftimestamp_s,prompt_tokens,output_tokens\r\n0,10,5\r\n2,10,5\r\n".encode())
    assert from_csv(path).arrivals == (0.0, 2.0)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(TraceError, match="binary.csv: not a text CSV file"):
        from_csv(binary)


def test_a_recording_longer_than_the_replay_allows_is_refused_before_it_runs(tmp_path: Path):
    # An hour recorded in milliseconds reads as 41.7 days of seconds.
    millis = tmp_path / "millis.csv"
    millis.write_text("timestamp_s,prompt_tokens,output_tokens\n0,10,5\n3600000,10,5\n")
    with pytest.raises(TraceError) as caught:
        from_csv(millis)
    assert str(caught.value) == (
        f"{millis}: the trace spans 41.7 days; at most 14 days are replayed (cut it to a representative stretch; "
        "if its times are milliseconds, divide them by 1000)"
    )
    # The boundary: exactly the limit replays.
    edge = tmp_path / "edge.csv"
    edge.write_text(f"timestamp_s,prompt_tokens,output_tokens\n0,10,5\n{MAX_SPAN_S:.0f},10,5\n")
    assert from_csv(edge).duration_s == MAX_SPAN_S
    edge.write_text(f"timestamp_s,prompt_tokens,output_tokens\n0,10,5\n{MAX_SPAN_S + 1:.0f},10,5\n")
    with pytest.raises(TraceError, match="spans 14.0 days"):
        from_csv(edge)


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



def test_a_prometheus_rate_export_replays_as_poisson_arrivals_at_its_rates(tmp_path: Path):
    # query_range at step=60s: an hour at 0.3 req/s, an hour at 2 req/s, lengths as mean per step.
    path = tmp_path / "prometheus.csv"
    rows = ["timestamp_s,requests_per_s,prompt_tokens,output_tokens"]
    rows += [f"{1_700_000_000 + 60 * i},0.3,800,200" for i in range(60)]
    rows += [f"{1_700_003_600 + 60 * i},2,400,100" for i in range(60)]
    path.write_text("\n".join(rows) + "\n")
    trace = from_csv(path)
    assert trace.duration_s == 7200 and trace.weight == 1 and trace.intensity is None
    quiet = [t for t in trace.arrivals if t < 3600]
    busy = [t for t in trace.arrivals if t >= 3600]
    # Poisson counts: 1080 and 7200 expected; four standard deviations either side.
    assert abs(len(quiet) - 1080) < 4 * math.sqrt(1080)
    assert abs(len(busy) - 7200) < 4 * math.sqrt(7200)
    quiet_prompts = trace.prompts[: len(quiet)]
    assert sum(quiet_prompts) / len(quiet_prompts) == pytest.approx(800, rel=0.08)
    assert sum(trace.outputs[len(quiet):]) / len(busy) == pytest.approx(100, rel=0.08)
    assert trace.name == f"prometheus.csv ({len(trace.arrivals)} requests drawn from 120 rates)"
    # A rate below one request per second is not rounded away (0.3 req/s kept its 1080).
    assert from_csv(path) == trace


def test_a_cloudwatch_sum_per_period_is_a_count_and_missing_lengths_are_said_to_be_assumed(tmp_path: Path):
    # SageMaker Invocations, Sum per 5 minutes; no token counts in CloudWatch.
    path = tmp_path / "invocations.csv"
    path.write_text("timestamp,requests\n2026-11-30T10:00:00Z,600\n2026-11-30T10:05:00Z,0\n2026-11-30T10:10:00Z,1500\n")
    trace = from_csv(path)
    assert trace.duration_s == 900
    counts = [sum(1 for t in trace.arrivals if lo <= t < lo + 300) for lo in (0, 300, 600)]
    assert abs(counts[0] - 600) < 4 * math.sqrt(600) and counts[1] == 0 and abs(counts[2] - 1500) < 4 * math.sqrt(1500)
    assert trace.name.endswith("requests drawn from 3 rates, lengths assumed)")
    shape = trace.workload()
    assert shape.prompt_tokens == pytest.approx(DEFAULT_WORKLOAD.prompt_tokens, rel=0.1)
    assert shape.output_tokens == pytest.approx(DEFAULT_WORKLOAD.output_tokens, rel=0.1)


def test_steps_without_requests_may_carry_nan_means_and_the_file_mean_fills_them(tmp_path: Path):
    path = tmp_path / "nan.csv"
    path.write_text("timestamp_s,requests_per_s,prompt_tokens,output_tokens\n0,0,NaN,NaN\n600,1,2000,50\n1200,1,,\n")
    trace = from_csv(path)
    assert not any(t < 600 for t in trace.arrivals)
    # The last step had no lengths: it draws around the file's request-weighted means.
    shape = trace.workload()
    assert shape.prompt_tokens == pytest.approx(2000, rel=0.1) and shape.output_tokens == pytest.approx(50, rel=0.1)


def test_a_rate_export_recorded_and_rescaled_keeps_its_shape(tmp_path: Path):
    path = tmp_path / "prometheus.csv"
    path.write_text("timestamp_s,requests_per_s,prompt_tokens,output_tokens\n"
                    + "".join(f"{60 * i},{1 if i < 30 else 4},500,120\n" for i in range(60)))
    trace = from_csv(path)
    scaled = rescaled(trace, 2 * trace.busiest_minute_rps(), seed=1)
    assert scaled.requests == pytest.approx(2 * trace.requests, rel=0.05)
    assert sum(1 for t in scaled.arrivals if t >= 1800) > 3 * sum(1 for t in scaled.arrivals if t < 1800)


def test_bad_rate_exports_say_what_is_wrong(tmp_path: Path):
    def problem(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(TraceError) as caught:
            from_csv(path)
        return str(caught.value).replace(str(path), name)

    assert problem("one.csv", "timestamp_s,requests_per_s\n0,3\n") == (
        "one.csv: a rate export needs at least two rows (its step is the time between them)")
    assert problem("twice.csv", "timestamp_s,requests_per_s\n0,3\n0,4\n60,1\n") == (
        "twice.csv: a rate export has one row per step; 1 times repeat (first 0): sum them or keep one query's output")
    assert problem("zero.csv", "timestamp_s,requests_per_s\n0,0\n60,0\n") == "zero.csv: every requests_per_s is zero: nothing to replay"
    assert problem("tiny.csv", "timestamp_s,requests_per_s\n0,0.0000001\n60,0.0000001\n") == (
        "tiny.csv: its rates add up to less than one request: nothing to replay")
    assert problem("bad.csv", "timestamp_s,requests_per_s,prompt_tokens\n0,-1,5\n60,x,5\n120,1,many\n") == (
        "bad.csv: rows that cannot be replayed:\n"
        "  line 2: timestamp_s and requests_per_s cannot be negative\n"
        "  line 3: timestamp_s and requests_per_s must be finite numbers (a time may also be an ISO 8601 date-time); "
        "got '60', 'x'\n"
        "  line 4: prompt_tokens must be a number of tokens (or empty); got 'many'")
    assert problem("rates.csv", "when,requests\n0,1\n") == (
        "rates.csv: needs one of the columns timestamp_s, timestamp, Timestamp, TIMESTAMP; found when, requests")
    assert problem("neither.csv", "timestamp_s,tokens\n0,1\n") == (
        "neither.csv: needs one of the columns prompt_tokens, Request tokens, ContextTokens; found timestamp_s, tokens "
        "(or a rate export: requests_per_s, requests)")


def test_a_declared_traffic_csv_may_be_a_rate_export(tmp_path: Path):
    (tmp_path / "traffic").mkdir()
    (tmp_path / "traffic" / "llama.csv").write_text(
        "timestamp_s,requests_per_s,prompt_tokens,output_tokens\n0,1.5,700,150\n60,1.5,700,150\n")
    trace = declared(Traffic(csv="traffic/llama.csv"), root=tmp_path)
    assert trace.duration_s == 120 and abs(len(trace.arrivals) - 180) < 4 * math.sqrt(180)


def test_a_mooncake_trace_replays_in_seconds_with_its_prefix_hits(tmp_path: Path):
    # kvcache-ai/Mooncake FAST25-release format: milliseconds, 512-token blocks.
    path = tmp_path / "conversation_trace.jsonl"
    path.write_text(
        '{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, 48, 2353]}\n'
        '{"timestamp": 30535, "input_length": 6472, "output_length": 26, "hash_ids": [46, 47, 48, 2366]}\n'
        '{"timestamp": 31000, "input_length": 700, "output_length": 0, "hash_ids": [9]}\n'
        "\n"
        '{"timestamp": 32000, "input_length": 2000, "output_length": 10, "hash_ids": [46, 47, 9, 5]}\n'
        '{"timestamp": 33000, "input_length": 100, "output_length": 10, "hash_ids": [46]}\n'
    )
    trace = from_file(path)
    assert trace.arrivals == pytest.approx((0.0, 3.053, 4.518, 5.518))
    assert trace.prompts == (6955, 6472, 2000, 100) and trace.outputs == (52, 26, 10, 10)
    # Leading blocks an earlier request sent (a request without output still sent its prompt);
    # never the whole prompt.
    assert trace.cached == (0, 3 * 512, 3 * 512, 99)
    assert trace.name == "conversation_trace.jsonl (4 requests)"


def test_a_bad_jsonl_trace_names_every_bad_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"timestamp": 0, "input_length": 5, "output_length": 5}\nnot json\n{"timestamp": 1}\n'
                    '{"timestamp": -5, "input_length": 5, "output_length": 5}\n')
    with pytest.raises(TraceError) as caught:
        from_file(path)
    needs = ("needs a JSON object with numbers timestamp (milliseconds), input_length and output_length, and "
             "optionally a list of integers hash_ids")
    assert str(caught.value) == (
        f"{path}: lines that cannot be replayed:\n  line 2: {needs}\n  line 3: {needs}\n"
        "  line 4: times and token counts cannot be negative")
    # Any other suffix is read as a CSV.
    csv_path = tmp_path / "trace.txt"
    csv_path.write_text("timestamp_s,prompt_tokens,output_tokens\n0,5,5\n")
    assert from_file(csv_path).requests == 1


def test_jsonl_lines_that_are_json_but_not_a_trace_are_named_not_raised(tmp_path: Path):
    path = tmp_path / "odd.jsonl"
    path.write_bytes(("\ufeff" + '{"timestamp": 0, "input_length": 5, "output_length": 5}\n'
                      '{"timestamp": 1, "input_length": 5, "output_length": 5, "hash_ids": [[1]]}\n'
                      '{"timestamp": 1, "input_length": 5, "output_length": 5, "hash_ids": [{}]}\n'
                      f'{{"timestamp": {"1" * 400}, "input_length": 5, "output_length": 5}}\n'
                      f'{{"timestamp": 2, "input_length": {"9" * 400}, "output_length": 5}}\n').encode())
    with pytest.raises(TraceError) as caught:
        from_file(path)
    # The byte-order mark does not spoil line 1; lines 2-5 are each named.
    assert [text.split(":")[0].strip() for text in str(caught.value).splitlines()[1:]] == [
        "line 2", "line 3", "line 4", "line 5"]


def test_an_unsorted_jsonl_caches_by_time_and_unix_milliseconds_keep_the_clock(tmp_path: Path):
    path = tmp_path / "unsorted.jsonl"
    path.write_text('{"timestamp": 1764590402000, "input_length": 1024, "output_length": 5, "hash_ids": [1, 2]}\n'
                    '{"timestamp": 1764590400000, "input_length": 1024, "output_length": 5, "hash_ids": [1, 2]}\n')
    trace = from_file(path)
    # The earlier request (second in the file) pays for the prefix; the later one hits it.
    assert trace.cached == (0, 1023) and trace.opens_at() == "2025-12-01T12:00:00Z"


def test_a_field_past_the_csv_limit_is_a_trace_error(tmp_path: Path):
    path = tmp_path / "huge.csv"
    path.write_text("timestamp_s,prompt_tokens,output_tokens\n0,5," + "9" * 200_000 + "\n")
    with pytest.raises(TraceError, match="huge.csv: not a CSV file this reads"):
        from_csv(path)


def test_times_past_2100_are_refused_as_milliseconds_and_old_date_times_keep_their_clock(tmp_path: Path):
    # Ten minutes of requests logged in Unix milliseconds: under the 14-day span, past 2100 as seconds.
    millis = tmp_path / "millis.csv"
    millis.write_text("timestamp_s,prompt_tokens,output_tokens\n"
                      + "".join(f"{1_704_067_200_000 + 1000 * i},10,5\n" for i in range(600)))
    with pytest.raises(TraceError) as caught:
        from_csv(millis)
    assert str(caught.value) == (f"{millis}: its times start at 1.70407e+12 s, past the year 2100: if they are Unix "
                                 "milliseconds, divide them by 1000")
    far = tmp_path / "far.csv"
    far.write_text("timestamp,prompt_tokens,output_tokens\n9999-12-31T23:59:59-01:00,10,5\n")
    with pytest.raises(TraceError, match="past the year 2100"):
        from_csv(far)
    # Just below the ceiling the clock is kept; a date-time before 2001 keeps it too.
    edge = tmp_path / "edge.csv"
    edge.write_text(f"timestamp_s,prompt_tokens,output_tokens\n{UNIX_TIME_CEILING_S - 1:.0f},10,5\n")
    assert from_csv(edge).opens_at() == "2099-12-31T23:59:59Z"
    old = tmp_path / "old.csv"
    old.write_text("timestamp,prompt_tokens,output_tokens\n1999-06-01T08:00:00Z,10,5\n1999-06-01T08:00:09Z,10,5\n")
    assert from_csv(old).opens_at() == "1999-06-01T08:00:00Z"


def test_a_gap_in_a_rate_export_is_time_without_requests(tmp_path: Path):
    # CloudWatch writes no datapoint for a period without invocations.
    counts = tmp_path / "gaps.csv"
    counts.write_text("timestamp_s,requests\n0,60\n60,60\n3600,60\n")
    trace = from_csv(counts)
    assert not any(120 <= t < 3600 for t in trace.arrivals), "the second row's 60 stay in its own minute"
    assert abs(sum(1 for t in trace.arrivals if 60 <= t < 120) - 60) < 4 * math.sqrt(60)
    rates = tmp_path / "rate-gaps.csv"
    rates.write_text("timestamp_s,requests_per_s\n0,1\n60,1\n3600,1\n")
    assert len(from_csv(rates).arrivals) < 180 + 4 * math.sqrt(180), "no rate carried through the gap"


def test_rates_beyond_what_is_replayed_are_refused_before_drawing(tmp_path: Path):
    path = tmp_path / "counts.csv"
    path.write_text("timestamp_s,requests_per_s\n0,1e7\n60,1e7\n")
    with pytest.raises(TraceError, match="its rates add up to 1.2e\\+09 requests; at most 50,000,000 are replayed"):
        from_csv(path)


def test_the_step_of_a_rate_export_is_its_most_common_gap(tmp_path: Path):
    # One stray row a second after the first must not make every step a second long.
    path = tmp_path / "stray.csv"
    path.write_text("timestamp_s,requests_per_s\n0,2\n1,2\n" + "".join(f"{60 * i},2\n" for i in range(1, 61)))
    trace = from_csv(path)
    assert abs(len(trace.arrivals) - 2 * 3660) < 4 * math.sqrt(2 * 3660)
    # Jittered stamps are one step.
    jitter = tmp_path / "jitter.csv"
    jitter.write_text("timestamp_s,requests\n" + "".join(f"{60 * i + (0.1 if i % 2 else -0.1)},60\n" for i in range(1, 61)))
    assert abs(len(from_csv(jitter).arrivals) - 3600) < 4 * 60

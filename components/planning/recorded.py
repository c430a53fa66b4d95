"""Recorded traffic read from a file: a CSV of one row per request or of a rate exported per
step, or a Mooncake-style JSON Lines trace.

A request log (ours, BurstGPT's, the Azure LLM inference traces') replays row by row. A
Prometheus or CloudWatch export carries only a rate per step: it is expanded into Poisson
arrivals at that rate, each with lengths drawn around the row's mean lengths, so an export
never has to be turned into requests by hand (rounding a per-second rate below 0.5 to whole
requests loses every one of them).
"""
from __future__ import annotations

import csv
import json
import math
import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from components.planning.capacity import DEFAULT_WORKLOAD
from components.planning.traces import MAX_ARRIVALS, Trace, TraceError, draw_length

# Ours, BurstGPT's, and the Azure LLM inference traces' (2023 and 2024: TIMESTAMP as a date-time).
TIME_COLUMNS = ("timestamp_s", "timestamp", "Timestamp", "TIMESTAMP")
PROMPT_COLUMNS = ("prompt_tokens", "Request tokens", "ContextTokens")
OUTPUT_COLUMNS = ("output_tokens", "Response tokens", "GeneratedTokens")
CACHED_COLUMNS = ("cached_tokens",)
# A rate export: requests per second over the row's step (a Prometheus rate() per step), or
# requests counted in it (a CloudWatch Sum per period). Its length columns are means.
RATE_COLUMNS = ("requests_per_s",)
COUNT_COLUMNS = ("requests",)
# Azure writes seven fractional digits ("2023-11-16 18:15:46.6805900"); datetime reads six.
_FRACTION = re.compile(r"(\.\d{6})\d+")
# The replay steps second by second: a file spanning more than this is refused before it runs
# for hours. Two weeks hold the longest public LLM trace (Azure 2024, one week); a recording in
# milliseconds read as seconds lands far past it, and the message says so.
MAX_SPAN_S = 14 * 86_400.0
# Times from here on are instants (Unix seconds, 2001-09-09 on; date-times always are): the
# trace keeps its wall-clock start for scheduled floors. Below, seconds from any origin. From
# 2100 on, times are refused: they are Unix milliseconds read as seconds, or no clock at all.
UNIX_TIME_FLOOR_S = 1e9
UNIX_TIME_CEILING_S = 4_102_444_800.0  # 2100-01-01T00:00:00Z
# Mooncake's traces (kvcache-ai/Mooncake FAST25-release README): `timestamp` in milliseconds,
# `input_length`, `output_length`, and `hash_ids`, one per 512-token prefix block.
MOONCAKE_BLOCK_TOKENS = 512
# Rows quoted in one message; the rest are counted.
SHOWN_PROBLEMS = 10
SEED = 0


def _time_s(text: str) -> tuple[float, bool]:
    """Seconds, and whether they are a date-time's: a finite number, or an ISO 8601 date-time
    (naive ones read as UTC)."""
    try:
        return _number(text), False
    except ValueError:
        pass  # not a finite number: a date-time, or no time at all (fromisoformat says which)
    moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp(), True


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


@dataclass
class _Problems:
    path: Path
    lines: list[str]
    hidden: int = 0

    def add(self, line: int, message: str) -> None:
        if len(self.lines) < SHOWN_PROBLEMS:
            self.lines.append(f"  line {line}: {message}")
        else:
            self.hidden += 1

    def raise_any(self, what: str) -> None:
        if not self.lines:
            return
        more = [f"  and {self.hidden} more lines"] if self.hidden else []
        raise TraceError("\n".join([f"{self.path}: {what}:", *self.lines, *more]))


def from_file(path: Path) -> Trace:
    """A recorded trace: JSON Lines (`.jsonl`, Mooncake's format) or any CSV from_csv reads."""
    if path.suffix == ".jsonl":
        return from_jsonl(path)
    return from_csv(path)


def from_jsonl(path: Path) -> Trace:
    """A Mooncake-style trace: one JSON object per line with `timestamp` (milliseconds),
    `input_length`, `output_length` and optionally `hash_ids`. A request's cached tokens are
    its leading run of prefix blocks that an earlier request already sent, x 512, one token
    short of its prompt at most: what a prefix cache holding every earlier prompt would hit."""
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as error:
        raise TraceError(f"{path}: cannot read the trace ({error.strerror})") from None
    problems = _Problems(path, [])
    # (time, file order, prompt, output, prefix block hashes)
    entries: list[tuple[float, int, int, int, list[int]]] = []
    try:
        with handle:
            for line, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    entry = json.loads(text)
                    t = _number(entry["timestamp"]) / 1000.0
                    p, o = int(_number(entry["input_length"])), int(_number(entry["output_length"]))
                    hashes = entry.get("hash_ids", [])
                    if not isinstance(hashes, list) or not all(isinstance(h, int) and not isinstance(h, bool) for h in hashes):
                        raise TypeError(hashes)
                except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, OverflowError):
                    problems.add(line, "needs a JSON object with numbers timestamp (milliseconds), input_length and "
                                       "output_length, and optionally a list of integers hash_ids")
                    continue
                if t < 0 or p < 0 or o < 0:
                    problems.add(line, "times and token counts cannot be negative")
                    continue
                entries.append((t, line, p, o, hashes))
    except UnicodeDecodeError:
        raise TraceError(f"{path}: not a text JSON Lines file (it is not UTF-8)") from None
    problems.raise_any("lines that cannot be replayed")
    # A prefix is cached once an earlier request (in time, whatever the file's order) sent it.
    entries.sort(key=lambda e: (e[0], e[1]))
    rows: list[tuple[float, int, int, int]] = []
    seen: set[int] = set()
    for t, _, p, o, hashes in entries:
        reused = 0
        for block in hashes:
            if block not in seen:
                break
            reused += 1
        seen.update(hashes)
        if o > 0:
            prompt = max(1, p)
            rows.append((t, prompt, o, min(reused * MOONCAKE_BLOCK_TOKENS, prompt - 1)))
    return _request_log(path, rows, with_cached=bool(seen), dated=False)


def from_csv(path: Path) -> Trace:
    """A recorded trace. Per request: `timestamp_s,prompt_tokens,output_tokens[,cached_tokens]`
    (seconds), BurstGPT's `Timestamp, Request tokens, Response tokens` columns, or the Azure LLM
    inference traces' `TIMESTAMP,ContextTokens,GeneratedTokens` (date-times); rows with no output
    (BurstGPT's failed requests) are skipped. Per step: a time column with `requests_per_s` or
    `requests`, and optionally mean `prompt_tokens` and `output_tokens`. Times are shifted to
    start at zero. Every problem in the file is reported at once (the first few quoted)."""
    try:
        # utf-8-sig: spreadsheet exports start with a byte-order mark that would hide the first column.
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise TraceError(f"{path}: cannot read the trace ({error.strerror})") from None
    try:
        with handle:
            reader = csv.reader(handle)
            header = [column.strip() for column in next(reader, [])]
            rate_column = next((c for c in (*RATE_COLUMNS, *COUNT_COLUMNS) if c in header), None)
            if rate_column is not None:
                return _from_rates(path, header, rate_column, reader)
            return _from_requests(path, header, reader)
    except UnicodeDecodeError:
        raise TraceError(f"{path}: not a text CSV file (it is not UTF-8)") from None
    except csv.Error as error:
        raise TraceError(f"{path}: not a CSV file this reads ({error})") from None


def _pick(path: Path, header: list[str], options: tuple[str, ...]) -> int:
    for option in options:
        if option in header:
            return header.index(option)
    raise TraceError(
        f"{path}: needs one of the columns {', '.join(options)}; found {', '.join(header) or 'none'}"
        + ("" if options != PROMPT_COLUMNS else f" (or a rate export: {', '.join((*RATE_COLUMNS, *COUNT_COLUMNS))})")
    )


def _optional(header: list[str], options: tuple[str, ...]) -> int | None:
    return next((header.index(c) for c in options if c in header), None)


def _check_span(path: Path, times: list[float]) -> None:
    span = times[-1] - times[0]
    if span > MAX_SPAN_S:
        raise TraceError(
            f"{path}: the trace spans {span / 86_400:.1f} days; at most {MAX_SPAN_S / 86_400:g} days are replayed "
            "(cut it to a representative stretch; if its times are milliseconds, divide them by 1000)"
        )


def _from_requests(path: Path, header: list[str], reader) -> Trace:
    time_i = _pick(path, header, TIME_COLUMNS)
    prompt_i, output_i = _pick(path, header, PROMPT_COLUMNS), _pick(path, header, OUTPUT_COLUMNS)
    cached_i = _optional(header, CACHED_COLUMNS)
    names = header[time_i], header[prompt_i], header[output_i]
    problems = _Problems(path, [])
    rows: list[tuple[float, int, int, int]] = []
    dated = False
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            (t, is_date), p, o = _time_s(row[time_i]), int(_number(row[prompt_i])), int(_number(row[output_i]))
            c = int(_number(row[cached_i])) if cached_i is not None else 0
            dated = dated or is_date
        except (TypeError, ValueError, IndexError, OverflowError):
            got = ", ".join(repr(row[i]) if i < len(row) else "nothing" for i in (time_i, prompt_i, output_i))
            problems.add(line, f"{', '.join(names[:2])} and {names[2]} must be finite numbers (a time may also be an "
                               f"ISO 8601 date-time); got {got}")
            continue
        if t < 0 or p < 0 or o < 0 or c < 0:
            problems.add(line, "times and token counts cannot be negative")
            continue
        if o == 0:
            continue
        rows.append((t, max(1, p), o, min(c, max(1, p) - 1) if c else 0))
    problems.raise_any("rows that cannot be replayed")
    rows.sort()
    return _request_log(path, rows, with_cached=cached_i is not None, dated=dated)


def _request_log(path: Path, rows: list[tuple[float, int, int, int]], with_cached: bool, dated: bool) -> Trace:
    """(time, prompt, output, cached) rows in time order, one per request, as a trace starting at zero."""
    if not rows:
        raise TraceError(f"{path}: no requests with output tokens")
    _check_span(path, [rows[0][0], rows[-1][0]])
    start = rows[0][0]
    return Trace(
        f"{path.name} ({len(rows)} requests)",
        max(rows[-1][0] - start, 1.0),
        tuple(r[0] - start for r in rows),
        tuple(r[1] for r in rows),
        tuple(r[2] for r in rows),
        cached=tuple(r[3] for r in rows) if with_cached else None,
        start_epoch_s=_instant(path, start, dated),
    )


def _from_rates(path: Path, header: list[str], rate_column: str, reader) -> Trace:
    time_i, rate_i = _pick(path, header, TIME_COLUMNS), header.index(rate_column)
    prompt_i, output_i = _optional(header, PROMPT_COLUMNS), _optional(header, OUTPUT_COLUMNS)
    per_second = rate_column in RATE_COLUMNS
    problems = _Problems(path, [])
    # (start, rate or count, mean prompt or None, mean output or None)
    rows: list[tuple[float, float, float | None, float | None]] = []
    dated = False
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            (t, is_date), value = _time_s(row[time_i]), _number(row[rate_i])
            dated = dated or is_date
        except (TypeError, ValueError, IndexError, OverflowError):
            got = ", ".join(repr(row[i]) if i < len(row) else "nothing" for i in (time_i, rate_i))
            problems.add(line, f"{header[time_i]} and {rate_column} must be finite numbers (a time may also be an ISO "
                               f"8601 date-time); got {got}")
            continue
        means = []
        for index in (prompt_i, output_i):
            # A mean over a step without requests is 0/0: Prometheus writes NaN, others leave it empty.
            text = row[index].strip() if index is not None and index < len(row) else ""
            try:
                mean = float(text) if text else math.nan
            except (ValueError, OverflowError):
                problems.add(line, f"{header[index]} must be a number of tokens (or empty); got {text!r}")
                mean = math.nan
            means.append(mean if math.isfinite(mean) and mean > 0 else None)
        if value < 0 or t < 0:
            problems.add(line, f"{header[time_i]} and {rate_column} cannot be negative")
            continue
        rows.append((t, value, means[0], means[1]))
    problems.raise_any("rows that cannot be replayed")
    rows.sort(key=lambda r: r[0])
    if len(rows) < 2:
        raise TraceError(f"{path}: a rate export needs at least two rows (its step is the time between them)")
    starts = [r[0] for r in rows]
    repeated = sorted({t for t, after in zip(starts, starts[1:]) if after == t})
    if repeated:
        raise TraceError(f"{path}: a rate export has one row per step; {len(repeated)} times repeat "
                         f"(first {repeated[0]:g}): sum them or keep one query's output")
    _check_span(path, starts)
    start_epoch_s = _instant(path, starts[0], dated)
    # The step is the most common time between rows (to the second; the shorter on a tie).
    # Every row lasts one step at most: a longer gap to the next row is time without data
    # (CloudWatch writes no period without a datapoint, Prometheus no point without a
    # series), read as no requests rather than as the row's rate carried on.
    gaps = [after - t for t, after in zip(starts, starts[1:])]
    step_s = _usual_step(gaps)
    steps = [min(gap, step_s) for gap in gaps] + [step_s]
    rates = [value if per_second else value / step for (_, value, _, _), step in zip(rows, steps)]
    if not any(rates):
        raise TraceError(f"{path}: every {rate_column} is zero: nothing to replay")
    expected = sum(rate * step for rate, step in zip(rates, steps))
    if expected > MAX_ARRIVALS:
        raise TraceError(f"{path}: its rates add up to {expected:.3g} requests; at most {MAX_ARRIVALS:,} are replayed "
                         "(export a shorter stretch; a count per step belongs in a column named requests)")
    prompt_mean = _weighted_mean([(r[2], rate * step) for r, rate, step in zip(rows, rates, steps)])
    output_mean = _weighted_mean([(r[3], rate * step) for r, rate, step in zip(rows, rates, steps)])
    assumed = [] if prompt_mean is not None and output_mean is not None else ["lengths assumed"]
    prompt_mean = prompt_mean or float(DEFAULT_WORKLOAD.prompt_tokens)
    output_mean = output_mean or float(DEFAULT_WORKLOAD.output_tokens)
    rng = random.Random(SEED)
    start = starts[0]
    arrivals: list[float] = []
    prompts: list[int] = []
    outputs: list[int] = []
    for (t, _, prompt, output), rate, step in zip(rows, rates, steps):
        # Poisson arrivals are memoryless, so restarting the clock at every step is exact.
        now, end = t - start, t - start + step
        while rate > 0:
            now += rng.expovariate(rate)
            if now >= end:
                break
            arrivals.append(now)
            prompts.append(draw_length(rng, prompt or prompt_mean))
            outputs.append(draw_length(rng, output or output_mean))
    if not arrivals:
        raise TraceError(f"{path}: its rates add up to less than one request: nothing to replay")
    # Drawn arrivals replay like a request log's (no intensity: that would make the trace a
    # fluid one, which TRACE_PEAK rescales by its intensity alone).
    label = ", ".join([f"{len(arrivals)} requests drawn from {len(rows)} rates", *assumed])
    return Trace(f"{path.name} ({label})", starts[-1] + steps[-1] - start, tuple(arrivals), tuple(prompts),
                 tuple(outputs), seed=SEED, start_epoch_s=start_epoch_s)


def _instant(path: Path, start: float, dated: bool) -> float | None:
    """The recording's wall-clock start, where its times carry one."""
    if start >= UNIX_TIME_CEILING_S:
        raise TraceError(
            f"{path}: its times start at {start:.6g} s, past the year 2100: if they are Unix milliseconds, divide "
            "them by 1000"
        )
    return start if dated or start >= UNIX_TIME_FLOOR_S else None


def _usual_step(gaps: list[float]) -> float:
    """The most common gap, to the second where gaps are a second or more (jittered stamps
    such as 59.9 and 60.1 s are one step); the shorter of equally common ones."""
    def key(gap: float) -> float:
        return float(round(gap)) if gap >= 1 else gap

    counts = Counter(key(gap) for gap in gaps)
    most = max(counts.values())
    return min(g for g, n in counts.items() if n == most)


def _weighted_mean(values: list[tuple[float | None, float]]) -> float | None:
    known = [(v, w) for v, w in values if v is not None and w > 0]
    total = sum(w for _, w in known)
    return sum(v * w for v, w in known) / total if total else None


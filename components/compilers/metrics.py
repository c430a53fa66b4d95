"""Metric names and PromQL per runtime: the one place KEDA triggers, alerts, canary gates and
dashboards read them from.

Series are selected by `inferenceservice`, a label our PodMonitors copy from the pod label
KServe sets, so each version of a model (stable and candidate) is measured on its own.
"""
from __future__ import annotations

from typing import Literal

from components.intent.autoscaling import Signal

Runtime = Literal["vllm", "triton"]

# vLLM (docs/design/metrics.md): gauges and histograms labelled by model_name; the
# OpenAI server also exports FastAPI's http_requests_total with grouped status codes.
VLLM_WAITING = "vllm:num_requests_waiting"
VLLM_RUNNING = "vllm:num_requests_running"
VLLM_SUCCESS = "vllm:request_success_total"
# Histograms of each finished request's prompt and generated tokens (_sum, _count).
VLLM_PROMPT_TOKENS = "vllm:request_prompt_tokens"
VLLM_GENERATION_TOKENS = "vllm:request_generation_tokens"
VLLM_TTFT = "vllm:time_to_first_token_seconds"
VLLM_ITL = "vllm:inter_token_latency_seconds"
VLLM_E2E = "vllm:e2e_request_latency_seconds"
VLLM_KV_USAGE = "vllm:kv_cache_usage_perc"
VLLM_HTTP = "http_requests_total"
# Triton (docs/user_guide/metrics.md), port 8002; the latency summary needs
# `--metrics-config summary_latencies=true`, which our runtime sets.
TRITON_PENDING = "nv_inference_pending_request_count"
TRITON_SUCCESS = "nv_inference_request_success"
TRITON_FAILURE = "nv_inference_request_failure"
TRITON_DURATION_US = "nv_inference_request_duration_us"
TRITON_QUEUE_US = "nv_inference_queue_duration_us"
TRITON_SUMMARY_US = "nv_inference_request_summary_us"


def selector(namespace: str, inferenceservice: str) -> str:
    return f'namespace="{namespace}",inferenceservice="{inferenceservice}"'


def load(runtime: Runtime, signal: Signal, sel: str) -> str:
    """The autoscaling signal for one version, summed to a single series (KEDA rejects more)."""
    if runtime == "vllm":
        waiting = f"sum({VLLM_WAITING}{{{sel}}})"
        if signal == "queue_depth":
            return waiting
        if signal == "concurrency":
            return f"{waiting} + sum({VLLM_RUNNING}{{{sel}}})"
        return f"sum(rate({VLLM_SUCCESS}{{{sel}}}[1m]))"
    if signal == "queue_depth":
        return f"sum({TRITON_PENDING}{{{sel}}})"
    if signal == "concurrency":
        # Little's law: seconds spent in the server per second = requests in it on average.
        return f"sum(rate({TRITON_DURATION_US}{{{sel}}}[1m])) / 1e6"
    return f"sum(rate({TRITON_SUCCESS}{{{sel}}}[1m]))"


def running(runtime: Runtime, sel: str) -> str:
    """Requests a version is serving now (the combined signal's batch term), one series."""
    if runtime == "vllm":
        return f"sum({VLLM_RUNNING}{{{sel}}})"
    # Triton exports no running gauge: requests in the server by Little's law.
    return load(runtime, "concurrency", sel)


def error_ratio(runtime: Runtime, sel: str, window: str) -> str:
    """Share of failed requests. A failure counter series appears only with the first failure
    (vLLM's `status="5xx"`), so its absence counts as zero failures; no requests at all gives
    no result (nothing to judge), never a false zero."""
    if runtime == "vllm":
        failed = f'(sum(rate({VLLM_HTTP}{{{sel},status="5xx"}}[{window}])) or vector(0))'
        total = f"sum(rate({VLLM_HTTP}{{{sel}}}[{window}]))"
    else:
        failed = f"(sum(rate({TRITON_FAILURE}{{{sel}}}[{window}])) or vector(0))"
        total = f"({failed} + sum(rate({TRITON_SUCCESS}{{{sel}}}[{window}])))"
    return f"({failed} / {total})"


def le_matcher(edge_seconds: float) -> str:
    """`le` as vLLM's Python client writes it ("1.0") or as Prometheus 3 may normalise it ("1")."""
    forms = sorted({repr(float(edge_seconds)), format(edge_seconds, "g")})
    return 'le=~"' + "|".join(form.replace(".", "\\\\.") for form in forms) + '"'


def slow_ratio(metric: str, sel: str, edge_seconds: float, window: str) -> str:
    """Share of requests slower than a bucket edge: (all - requests in the bucket at the edge) / all.
    No requests gives no result (0/0), not zero."""
    good = f"sum(rate({metric}_bucket{{{sel},{le_matcher(edge_seconds)}}}[{window}]))"
    total = f"sum(rate({metric}_count{{{sel}}}[{window}]))"
    return f"(({total} - {good}) / {total})"


def _histogram_p99(metric: str, sel: str, window: str) -> str:
    return f"histogram_quantile(0.99, sum by (le) (rate({metric}_bucket{{{sel}}}[{window}])))"


def ttft_p99_seconds(sel: str, window: str) -> str:
    return _histogram_p99(VLLM_TTFT, sel, window)


def tpot_p99_seconds(sel: str, window: str) -> str:
    return _histogram_p99(VLLM_ITL, sel, window)


def latency_p99_seconds(runtime: Runtime, sel: str, window: str) -> str:
    if runtime == "vllm":
        return _histogram_p99(VLLM_E2E, sel, window)
    return triton_latency_p99_seconds(sel)


def triton_latency_p99_seconds(sel: str) -> str:
    # A summary's quantiles cannot be aggregated; the slowest replica bounds the p99.
    return f'max({TRITON_SUMMARY_US}{{{sel},quantile="0.99"}}) / 1e6'


def kv_cache_usage(sel: str) -> str:
    return f"max({VLLM_KV_USAGE}{{{sel}}})"


def traffic(runtime: Runtime, sel: str, window: str = "1m") -> dict[str, str]:
    """A model's traffic as the planner's rate export reads it: requests per second and, for
    vLLM, the mean prompt and output tokens of the requests finished in the window."""
    if runtime == "vllm":
        def mean(histogram: str) -> str:
            return f"sum(rate({histogram}_sum{{{sel}}}[{window}])) / sum(rate({histogram}_count{{{sel}}}[{window}]))"

        return {
            "requests_per_s": f"sum(rate({VLLM_SUCCESS}{{{sel}}}[{window}]))",
            "prompt_tokens": mean(VLLM_PROMPT_TOKENS),
            "output_tokens": mean(VLLM_GENERATION_TOKENS),
        }
    return {"requests_per_s": f"sum(rate({TRITON_SUCCESS}{{{sel}}}[{window}]))"}

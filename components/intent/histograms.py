"""Histogram bucket edges of the serving runtimes at their pinned versions.

An alert counts a request as good from the bucket whose upper edge (`le`) is the objective,
so an objective must be an edge: between two edges, Prometheus can only interpolate and an
alert would fire early or late.

vLLM 0.31.0 (the image pinned in versions.py): `vllm/v1/metrics/buckets.py`, the single source
of the defaults `vllm/v1/metrics/loggers.py` passes to every engine histogram
(TIME_TO_FIRST_TOKEN_BUCKETS, INTER_TOKEN_LATENCY_BUCKETS, REQUEST_LATENCY_BUCKETS), in seconds.

Triton 26.06 exports no request-latency histogram for the (non-decoupled) models ml-serving
serves: `nv_inference_first_response_histogram_ms` exists only for decoupled models. Its request
latency is a summary whose quantiles Triton computes from every observation, so a Triton
latency objective may be any number of milliseconds.
"""
from __future__ import annotations

from typing import Literal

Histogram = Literal["ttft", "inter_token", "e2e"]

VLLM_VERSION = "0.31.0"

_TTFT_S = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)
_INTER_TOKEN_S = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
)
_E2E_S = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0, 1920.0, 7680.0,
)

VLLM_BUCKETS_S: dict[Histogram, tuple[float, ...]] = {
    "ttft": _TTFT_S,
    "inter_token": _INTER_TOKEN_S,
    "e2e": _E2E_S,
}

VLLM_METRIC_NAMES: dict[Histogram, str] = {
    "ttft": "vllm:time_to_first_token_seconds",
    "inter_token": "vllm:inter_token_latency_seconds",
    "e2e": "vllm:e2e_request_latency_seconds",
}


def edges_ms(histogram: Histogram) -> list[int]:
    """The bucket edges in whole milliseconds (every vLLM edge is one)."""
    return [round(edge * 1000) for edge in VLLM_BUCKETS_S[histogram]]


def edge_problem(histogram: Histogram, value_ms: float) -> str | None:
    """Why `value_ms` cannot be an objective on this histogram, naming the nearest edges; None if it can."""
    edges = edges_ms(histogram)
    if value_ms in edges:
        return None
    below = [e for e in edges if e < value_ms]
    above = [e for e in edges if e > value_ms]
    nearest = " or ".join(str(e) for e in (below[-1:] + above[:1]))
    return (
        f"{value_ms:g} ms is not a bucket edge of {VLLM_METRIC_NAMES[histogram]} (vLLM {VLLM_VERSION}), so "
        f"alerts could only interpolate inside a bucket and fire early or late; use {nearest}"
    )

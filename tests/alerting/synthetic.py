"""Synthetic metrics as our scrapes would store them, for `promtool test rules`.

Each served version exports the series its runtime really exports (vLLM 0.31.0's histograms
with all their buckets, FastAPI's grouped `http_requests_total`, Triton's counters and summary),
with the labels our PodMonitors add, plus the kube-state-metrics series of its Deployment. A
scenario says, minute by minute, what traffic each version gets; counters accumulate it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from components.compilers import metrics
from components.compilers.endpoint_picker import (
    EPP_SCHEDULER_ATTEMPTS,
    EPP_SCHEDULER_LATENCY,
    picker_name,
    uses_picker,
)
from components.compilers.group_alerts import GROUP_INDEX_LABEL, label_of
from components.compilers.leader_worker_set import GROUP_LABEL, WORKER_INDEX_LABEL
from components.compilers.monitoring import COPIED_LABELS
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODELS_NAMESPACE
from components.intent.histograms import VLLM_BUCKETS_S, Histogram

REQUESTS_PER_MINUTE = 600


@dataclass(frozen=True)
class Traffic:
    """One version's behaviour during one minute."""

    requests: float = REQUESTS_PER_MINUTE
    error_share: float = 0.0
    # Per histogram: (seconds, share of requests) pairs; the rest take `fast_s`.
    latencies: dict[Histogram, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    fast_s: dict[Histogram, float] = field(default_factory=dict)
    triton_p99_ms: float = 1.0
    queue: float = 0.0
    running: float = 2.0
    kv_cache: float = 0.4
    replicas: int = 1
    available: int = 1
    scraped: bool = True  # the runtime's own series reach Prometheus
    # The version's endpoint picker, where it has one: scraped as up, the share of scheduling
    # attempts that fail, and how long each attempt takes.
    picker_up: bool = True
    picker_failure_share: float = 0.0
    picker_s: float = 0.002
    # A replica across nodes (LeaderWorkerSet groups): in the first group, workers not ready
    # while its leader is, and workers missing altogether.
    unready_workers: int = 0
    missing_workers: int = 0

    def with_(self, **changes) -> Traffic:
        return replace(self, **changes)


Scenario = Callable[[int], Traffic]  # minute -> traffic


def _labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _edge_text(edge: float) -> str:
    return repr(float(edge))  # what vLLM's Python client writes: 1.0, 0.025, 2560.0


class Series:
    """Accumulates minute-by-minute samples; a missing sample is promtool's `_`."""

    def __init__(self) -> None:
        self.values: dict[str, list[float | None]] = {}

    def put(self, name: str, minute: int, value: float | None) -> None:
        samples = self.values.setdefault(name, [])
        while len(samples) < minute:
            samples.append(None)
        samples.append(value)

    def counter(self, name: str, minute: int, increment: float | None) -> None:
        """A counter that grows by `increment` this minute; None: not scraped this minute."""
        samples = self.values.setdefault(name, [])
        last = next((v for v in reversed(samples) if v is not None), 0.0)
        self.put(name, minute, None if increment is None else last + increment)

    def input_series(self) -> list[dict[str, str]]:
        out = []
        for name, samples in self.values.items():
            if all(v is None for v in samples):
                continue
            out.append({"series": name, "values": " ".join("_" if v is None else f"{v:.6g}" for v in samples)})
        return out


def _pod_labels(served: ServedVersion, runtime_labels: dict[str, str]) -> dict[str, str]:
    pod = f"{served.predictor}-7c9f8d6b5-x2k4p"
    copied = dict(zip(COPIED_LABELS.values(), (served.name, served.model.name, served.version)))
    return {
        **runtime_labels,
        "namespace": MODELS_NAMESPACE,
        "pod": pod,
        "container": "kserve-container",
        "job": f"{MODELS_NAMESPACE}/ml-serving-{served.model.runtime}",
        "instance": "10.42.3.17:8080",
        **copied,
    }


def _histogram(series: Series, metric: str, labels: dict[str, str], edges: tuple[float, ...], minute: int,
               traffic: Traffic, histogram: Histogram) -> None:
    n = traffic.requests
    slow = traffic.latencies.get(histogram, ())
    fast = traffic.fast_s.get(histogram, edges[0])
    observations = [(value, share * n) for value, share in slow] + [(fast, n * (1 - sum(s for _, s in slow)))]
    on = traffic.scraped
    for edge in edges:
        count = sum(c for value, c in observations if value <= edge)
        series.counter(f"{metric}_bucket{_labels({**labels, 'le': _edge_text(edge)})}", minute, count if on else None)
    series.counter(f"{metric}_bucket{_labels({**labels, 'le': '+Inf'})}", minute, n if on else None)
    series.counter(f"{metric}_count{_labels(labels)}", minute, n if on else None)
    series.counter(f"{metric}_sum{_labels(labels)}", minute, sum(v * c for v, c in observations) if on else None)


def _vllm(series: Series, served: ServedVersion, minute: int, traffic: Traffic) -> None:
    labels = _pod_labels(served, {"model_name": served.model.name, "engine": "0"})
    on = traffic.scraped
    for histogram, metric in (("ttft", metrics.VLLM_TTFT), ("inter_token", metrics.VLLM_ITL), ("e2e", metrics.VLLM_E2E)):
        _histogram(series, metric, labels, VLLM_BUCKETS_S[histogram], minute, traffic, histogram)
    http = _pod_labels(served, {"handler": "/v1/chat/completions", "method": "POST"})
    failed = traffic.requests * traffic.error_share
    series.counter(f"{metrics.VLLM_HTTP}{_labels({**http, 'status': '2xx'})}", minute, traffic.requests - failed if on else None)
    # FastAPI's instrumentator creates the 5xx series with the first 5xx, not before.
    name = f"{metrics.VLLM_HTTP}{_labels({**http, 'status': '5xx'})}"
    if failed > 0 or name in series.values:
        series.counter(name, minute, failed if on else None)
    series.counter(f"{metrics.VLLM_SUCCESS}{_labels({**labels, 'finished_reason': 'stop'})}", minute,
                   traffic.requests - failed if on else None)
    for metric, value in ((metrics.VLLM_WAITING, traffic.queue), (metrics.VLLM_RUNNING, traffic.running),
                          (metrics.VLLM_KV_USAGE, traffic.kv_cache)):
        series.put(f"{metric}{_labels(labels)}", minute, value if on else None)


def _triton(series: Series, served: ServedVersion, minute: int, traffic: Traffic) -> None:
    # Triton's own `model`/`version` labels: its model name and repository version.
    labels = _pod_labels(served, {"model": served.model.name, "version": "1"})
    on = traffic.scraped
    failed = traffic.requests * traffic.error_share
    series.counter(f"{metrics.TRITON_SUCCESS}{_labels(labels)}", minute, traffic.requests - failed if on else None)
    name = f"{metrics.TRITON_FAILURE}{_labels({**labels, 'reason': 'BACKEND'})}"
    if failed > 0 or name in series.values:
        series.counter(name, minute, failed if on else None)
    series.counter(f"{metrics.TRITON_DURATION_US}{_labels(labels)}", minute,
                   traffic.requests * traffic.triton_p99_ms * 500 if on else None)
    for quantile, value in (("0.5", traffic.triton_p99_ms / 2), ("0.9", traffic.triton_p99_ms * 0.8),
                            ("0.99", traffic.triton_p99_ms)):
        series.put(f"{metrics.TRITON_SUMMARY_US}{_labels({**labels, 'quantile': quantile})}", minute,
                   value * 1000 if on else None)
    series.put(f"{metrics.TRITON_PENDING}{_labels(labels)}", minute, traffic.queue if on else None)


def _group_pods(series: Series, served: ServedVersion, minute: int, traffic: Traffic) -> None:
    """kube-state-metrics' pod series of a version's LeaderWorkerSet groups: `replicas` groups,
    the first `available` ready; LWS names leaders <lws>-<group> and workers <lws>-<group>-<index>."""
    size = served.model.nodes_per_replica()
    ksm = {"namespace": MODELS_NAMESPACE, "job": "kube-state-metrics", "instance": "10.42.1.5:8080"}
    for group in range(traffic.replicas):
        for index in range(size):
            if group == 0 and index >= size - traffic.missing_workers:
                continue
            pod = f"{served.name}-{group}" if index == 0 else f"{served.name}-{group}-{index}"
            labels = {
                **ksm, "pod": pod, "uid": f"uid-{pod}",
                label_of(GROUP_LABEL): served.name,
                label_of(GROUP_INDEX_LABEL): str(group),
                label_of(WORKER_INDEX_LABEL): str(index),
            }
            series.put(f"kube_pod_labels{_labels(labels)}", minute, 1.0)
            ready = group < traffic.available and not (group == 0 and index >= size - traffic.unready_workers and index > 0)
            for condition, value in (("true", ready), ("false", not ready), ("unknown", False)):
                pod_labels = {**ksm, "pod": pod, "uid": f"uid-{pod}", "condition": condition}
                series.put(f"kube_pod_status_ready{_labels(pod_labels)}", minute, float(value))


def _kube_state(series: Series, served: ServedVersion, minute: int, traffic: Traffic) -> None:
    if served.model.nodes_per_replica() > 1:
        _group_pods(series, served, minute, traffic)
        return
    labels = {"namespace": MODELS_NAMESPACE, "deployment": served.predictor, "job": "kube-state-metrics",
              "instance": "10.42.1.5:8080"}
    for metric, value in (
        ("kube_deployment_spec_replicas", traffic.replicas),
        ("kube_deployment_status_replicas_available", traffic.available),
        ("kube_deployment_status_replicas_unavailable", traffic.replicas - traffic.available),
    ):
        series.put(f"{metric}{_labels(labels)}", minute, value)


# The picker's scheduling-latency buckets around its 50 ms limit.
PICKER_EDGES_S = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def _picker(series: Series, served: ServedVersion, minute: int, traffic: Traffic) -> None:
    labels = {"namespace": MODELS_NAMESPACE, "service": picker_name(served), "job": picker_name(served),
              "instance": "10.42.2.7:9090"}
    series.put(f"up{_labels(labels)}", minute, 1.0 if traffic.picker_up else 0.0)
    on = traffic.picker_up
    failed = traffic.requests * traffic.picker_failure_share
    for status, count in (("success", traffic.requests - failed), ("failure", failed)):
        series.counter(f"{EPP_SCHEDULER_ATTEMPTS}{_labels({**labels, 'status': status})}", minute, count if on else None)
    for edge in (*PICKER_EDGES_S, float("inf")):
        le = "+Inf" if edge == float("inf") else _edge_text(edge)
        count = traffic.requests if traffic.picker_s <= edge else 0.0
        series.counter(f"{EPP_SCHEDULER_LATENCY}_bucket{_labels({**labels, 'le': le})}", minute, count if on else None)


def input_series(versions: list[ServedVersion], scenarios: dict[str, Scenario], minutes: int) -> list[dict[str, str]]:
    series = Series()
    for served in versions:
        scenario = scenarios[served.name]
        runtime = _vllm if served.model.runtime == "vllm" else _triton
        for minute in range(minutes + 1):
            traffic = scenario(minute)
            # A replica that is not ready serves nothing and is not scraped as a target with data.
            runtime(series, served, minute, traffic if traffic.available > 0 else traffic.with_(scraped=False))
            _kube_state(series, served, minute, traffic)
            if uses_picker(served):
                _picker(series, served, minute, traffic)
    return series.input_series()

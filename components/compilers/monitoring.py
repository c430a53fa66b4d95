"""Scraping and alerting for the models: a PodMonitor per runtime, and per model a
PrometheusRule with its SLO alerts and, during a canary, the gates comparing versions."""
from __future__ import annotations

from typing import Any

from components.compilers import metrics
from components.compilers.endpoint_picker import picker_alerts, uses_picker
from components.compilers.helm_values import MONITOR_LABELS
from components.compilers.kserve import MODEL_LABEL, RUNTIME_LABEL, VERSION_LABEL
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODELS_NAMESPACE
from components.intent.canary import Gate
from components.intent.model import ModelSpec

Manifest = dict[str, Any]

# Pod labels copied onto every scraped series, so queries can pick one version.
_COPIED_LABELS = {
    "serving.kserve.io/inferenceservice": "inferenceservice",
    MODEL_LABEL: "model",
    VERSION_LABEL: "version",
}


def _label_source(pod_label: str) -> str:
    sanitized = "".join(c if c.isalnum() else "_" for c in pod_label)
    return f"__meta_kubernetes_pod_label_{sanitized}"


def pod_monitor(runtime: str) -> Manifest:
    port = "http1" if runtime == "vllm" else "metrics"
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": f"ml-serving-{runtime}", "namespace": MODELS_NAMESPACE, "labels": MONITOR_LABELS},
        "spec": {
            "selector": {"matchLabels": {RUNTIME_LABEL: runtime}},
            "podMetricsEndpoints": [
                {
                    "port": port,
                    "path": "/metrics",
                    "interval": "15s",
                    "relabelings": [
                        {"sourceLabels": [_label_source(pod_label)], "targetLabel": target, "action": "replace"}
                        for pod_label, target in _COPIED_LABELS.items()
                    ],
                }
            ],
        },
    }


def _alert(name: str, expr: str, duration: str, severity: str, summary: str, model: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity, "model": model, **(extra or {})},
        "annotations": {"summary": summary},
    }


def _slo_alerts(served: ServedVersion) -> list[dict[str, Any]]:
    model = served.model
    sel = metrics.selector(MODELS_NAMESPACE, served.name)
    slo = model.slo
    runtime = model.runtime
    version = {"version": served.version}
    saturated_at = model.autoscaling.target * served.max_replicas
    rules = [
        _alert(
            "MLServingQueueSaturated",
            f"{metrics.load(runtime, 'queue_depth', sel)} > {saturated_at:g}",
            "10m",
            "warning",
            f"{served.name}: more requests wait than {served.max_replicas} replicas absorb; raise max_replicas or the pool size",
            model.name,
            version,
        ),
        _alert(
            "MLServingErrorRateAboveSLO",
            f"{metrics.error_ratio(runtime, sel, '5m')} > {slo.error_rate:g}",
            "10m",
            "critical",
            f"{served.name}: error rate above the {slo.error_rate:.1%} objective",
            model.name,
            version,
        ),
        _alert(
            "MLServingReplicasNotReady",
            f'sum(kube_deployment_status_replicas_unavailable{{namespace="{MODELS_NAMESPACE}",deployment="{served.predictor}"}}) > 0',
            "15m",
            "warning",
            f"{served.name}: replicas have not become ready for 15 minutes (image pull, weights, GPU capacity?)",
            model.name,
            version,
        ),
    ]
    if slo.ttft_p99_ms is not None:
        rules.append(
            _alert(
                "MLServingTTFTAboveSLO",
                f"{metrics.ttft_p99_seconds(sel, '5m')} > {slo.ttft_p99_ms / 1000:g}",
                "10m",
                "critical",
                f"{served.name}: time to first token p99 above {slo.ttft_p99_ms} ms",
                model.name,
                version,
            )
        )
    if slo.tpot_p99_ms is not None:
        rules.append(
            _alert(
                "MLServingTPOTAboveSLO",
                f"{metrics.tpot_p99_seconds(sel, '5m')} > {slo.tpot_p99_ms / 1000:g}",
                "10m",
                "warning",
                f"{served.name}: time per output token p99 above {slo.tpot_p99_ms} ms (batches too large for the GPU?)",
                model.name,
                version,
            )
        )
    if slo.latency_p99_ms is not None:
        rules.append(
            _alert(
                "MLServingLatencyAboveSLO",
                f"{metrics.latency_p99_seconds(runtime, sel, '5m')} > {slo.latency_p99_ms / 1000:g}",
                "10m",
                "critical",
                f"{served.name}: request latency p99 above {slo.latency_p99_ms} ms",
                model.name,
                version,
            )
        )
    if runtime == "vllm":
        rules.append(
            _alert(
                "MLServingKVCacheFull",
                f"{metrics.kv_cache_usage(sel)} > 0.95",
                "10m",
                "warning",
                f"{served.name}: KV cache above 95 %; requests queue or get preempted (scale out or shorten max_model_len)",
                model.name,
                version,
            )
        )
    return rules


def _gate_value(gate: Gate, runtime: str, sel: str) -> str:
    window = f"{gate.window_s}s"
    if gate.metric == "error_rate":
        return metrics.error_ratio(runtime, sel, window)
    if gate.metric == "ttft_p99":
        return metrics.ttft_p99_seconds(sel, window)
    return metrics.latency_p99_seconds(runtime, sel, window)


def gate_expression(gate: Gate, runtime: str, candidate: str, stable: str) -> str:
    """The candidate breaches a gate when it passes the absolute ceiling or is more than
    `max_ratio_to_stable` times worse than the stable version."""
    cand = _gate_value(gate, runtime, metrics.selector(MODELS_NAMESPACE, candidate))
    parts = []
    if gate.max_value is not None:
        ceiling = gate.max_value if gate.metric == "error_rate" else gate.max_value / 1000
        parts.append(f"({cand}) > {ceiling:g}")
    if gate.max_ratio_to_stable is not None:
        stab = _gate_value(gate, runtime, metrics.selector(MODELS_NAMESPACE, stable))
        # A floor keeps "twice nothing" from paging when the stable version is perfect.
        floor = "0.001" if gate.metric == "error_rate" else "0.01"
        parts.append(f"({cand}) > {gate.max_ratio_to_stable:g} * clamp_min({stab}, {floor})")
    return " or ".join(parts)


def _gate_alerts(model: ModelSpec, versions: list[ServedVersion]) -> list[dict[str, Any]]:
    if model.canary is None:
        return []
    stable = next(v for v in versions if v.role == "stable")
    candidate = next(v for v in versions if v.role == "candidate")
    index_hint = "set canary.traffic_percent: 0 in the stack file and run pulumi up"
    return [
        _alert(
            "MLServingCanaryGateBreached",
            gate_expression(gate, model.runtime, candidate.name, stable.name),
            "2m",
            "critical",
            f"{model.name}: candidate {candidate.version} breaches its {gate.metric} gate against {stable.version}; "
            f"roll back: {index_hint}",
            model.name,
            {"gate": gate.metric, "version": candidate.version, "rollback": "true" if model.canary.rollback_on_breach else "false"},
        )
        for gate in model.canary.gates
    ]


def _picker_rules(served: ServedVersion) -> list[dict[str, Any]]:
    return [
        _alert(name, expr, duration, severity, summary, served.model.name, {"version": served.version})
        for name, expr, duration, severity, summary in picker_alerts(served, MODELS_NAMESPACE)
    ]


def prometheus_rule(model: ModelSpec, versions: list[ServedVersion]) -> Manifest:
    groups = [{"name": f"{model.name}-{v.version}-slo", "rules": _slo_alerts(v)} for v in versions]
    groups += [
        {"name": f"{model.name}-{v.version}-picker", "rules": _picker_rules(v)} for v in versions if uses_picker(v)
    ]
    gates = _gate_alerts(model, versions)
    if gates:
        groups.append({"name": f"{model.name}-canary-gates", "interval": "30s", "rules": gates})
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"{model.name}-alerts",
            "namespace": MODELS_NAMESPACE,
            "labels": {**MONITOR_LABELS, "ml-serving/model": model.name},
        },
        "spec": {"groups": groups},
    }

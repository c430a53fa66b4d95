"""Scraping and alerting for the models: a PodMonitor per runtime, and per model a
PrometheusRule with its SLO alerts and, during a canary, the gates comparing versions."""
from __future__ import annotations

from typing import Any

from components.compilers import metrics
from components.compilers.helm_values import MONITOR_LABELS
from components.compilers.kserve import MODEL_LABEL, RUNTIME_LABEL, VERSION_LABEL
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODELS_NAMESPACE
from components.intent.canary import CANDIDATE_PLACEHOLDER, STABLE_PLACEHOLDER, Gate
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


def _gate_value(gate: Gate, runtime: str, sel: str, candidate: str = "", stable: str = "") -> str:
    window = f"{gate.window_s}s"
    if gate.metric == "quality":
        assert gate.expression is not None
        return quality_expression(gate.expression, candidate, stable)
    if gate.metric == "error_rate":
        return metrics.error_ratio(runtime, sel, window)
    if gate.metric == "ttft_p99":
        return metrics.ttft_p99_seconds(sel, window)
    return metrics.latency_p99_seconds(runtime, sel, window)


def quality_expression(expression: str, candidate: str, stable: str) -> str:
    """A team-supplied quality expression with its version placeholders filled in."""
    return expression.replace(CANDIDATE_PLACEHOLDER, candidate).replace(STABLE_PLACEHOLDER, stable)


def gate_ceiling(gate: Gate) -> float:
    """The absolute ceiling in the unit the query returns (seconds for latencies)."""
    assert gate.max_value is not None
    return gate.max_value if gate.metric in ("error_rate", "quality") else gate.max_value / 1000


def ratio_floor(gate: Gate) -> str:
    # A floor keeps "twice nothing" from paging when the stable version is perfect.
    return "0.001" if gate.metric == "error_rate" else "0.01"


def gate_value(gate: Gate, runtime: str, version: str, stable: str) -> str:
    """What the gate measures on `version`, in the unit gate_ceiling uses."""
    return _gate_value(gate, runtime, metrics.selector(MODELS_NAMESPACE, version), version, stable)


def gate_measures(gate: Gate, runtime: str, candidate: str, stable: str) -> list[tuple[str, str, float]]:
    """The checks a gate makes, for whatever acts on them (the alerts below, Flagger's
    MetricTemplates): (suffix, PromQL of the measured value, ceiling it must stay at or under).
    The absolute check has no suffix; the comparison with the stable version is `-vs-stable`."""
    cand = gate_value(gate, runtime, candidate, stable)
    measures = []
    if gate.max_value is not None:
        measures.append(("", cand, gate_ceiling(gate)))
    if gate.max_ratio_to_stable is not None:
        stab = gate_value(gate, runtime, stable, stable)
        measures.append(("-vs-stable", f"({cand}) / clamp_min({stab}, {ratio_floor(gate)})", gate.max_ratio_to_stable))
    return measures


def gate_expression(gate: Gate, runtime: str, candidate: str, stable: str) -> str:
    """The candidate breaches a gate when it passes the absolute ceiling or is more than
    `max_ratio_to_stable` times worse than the stable version."""
    cand = gate_value(gate, runtime, candidate, stable)
    parts = []
    if gate.max_value is not None:
        ceiling = gate_ceiling(gate)
        parts.append(f"({cand}) > {ceiling:g}")
    if gate.max_ratio_to_stable is not None:
        stab = gate_value(gate, runtime, stable, stable)
        floor = ratio_floor(gate)
        parts.append(f"({cand}) > {gate.max_ratio_to_stable:g} * clamp_min({stab}, {floor})")
    return " or ".join(parts)


def _gate_alerts(model: ModelSpec, versions: list[ServedVersion]) -> list[dict[str, Any]]:
    if model.canary is None:
        return []
    stable = next(v for v in versions if v.role == "stable")
    candidate = next(v for v in versions if v.role == "candidate")
    index_hint = "set canary.traffic_percent: 0 in the stack file and run pulumi up"
    if model.automated_rollout:
        index_hint = f"Flagger sends the candidate's weight to 0 on its next check (kubectl -n {MODELS_NAMESPACE} describe canary {model.name})"
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


def _side_gate_alerts(model: ModelSpec, versions: list[ServedVersion]) -> list[dict[str, Any]]:
    """Experiment arms and a shadow, each against the stable version, on their own gates:
    they page (nothing rolls them back); a breaching arm is ended in the stack file."""
    stable = next(v for v in versions if v.role == "stable")
    arms: list[tuple[str, str, str, list[Gate]]] = []
    if model.experiment is not None:
        for variant in model.experiment.variants:
            if variant.version != stable.version:
                arms.append(("MLServingExperimentGateBreached", variant.name, variant.version, model.experiment.gates))
    if model.shadow is not None:
        arms.append(("MLServingShadowGateBreached", "shadow", model.shadow.version, model.shadow.gates))
    rules = []
    for alert, arm, version, gates in arms:
        isvc = f"{model.name}-{version}"
        for gate in gates:
            rules.append(_alert(
                alert,
                gate_expression(gate, model.runtime, isvc, stable.name),
                "5m",
                "warning",
                f"{model.name}: {arm} ({version}) breaches its {gate.metric} gate against {stable.version}",
                model.name,
                {"gate": gate.metric, "version": version, "arm": arm},
            ))
    return rules


def prometheus_rule(model: ModelSpec, versions: list[ServedVersion]) -> Manifest:
    groups = [{"name": f"{model.name}-{v.version}-slo", "rules": _slo_alerts(v)} for v in versions]
    gates = _gate_alerts(model, versions)
    if gates:
        groups.append({"name": f"{model.name}-canary-gates", "interval": "30s", "rules": gates})
    side = _side_gate_alerts(model, versions)
    if side:
        groups.append({"name": f"{model.name}-experiment-gates", "interval": "30s", "rules": side})
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

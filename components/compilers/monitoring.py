"""Scraping and alerting for the models: a PodMonitor per runtime, and per model a
PrometheusRule with its SLO alerts and, during a canary, the gates comparing versions.

SLO alerts are multi-window, multi-burn-rate alerts on each objective's error budget (the SRE
workbook's method, as Sloth and Pyrra generate it): a request is good when it lands in the
histogram bucket whose edge is the objective, so no quantile is interpolated. A p99 objective
leaves 1 % of requests as budget; the error objective's budget is the error rate itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.compilers import metrics
from components.compilers.endpoint_picker import picker_alerts, uses_picker
from components.compilers.group_alerts import groups_down, groups_not_ready, ready_groups
from components.compilers.helm_values import MONITOR_LABELS
from components.compilers.kserve import MODEL_LABEL, RUNTIME_LABEL, VERSION_LABEL, cold_start_budget_s
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODELS_NAMESPACE
from components.intent.canary import CANDIDATE_PLACEHOLDER, STABLE_PLACEHOLDER, Gate
from components.intent.histograms import VLLM_METRIC_NAMES, Histogram
from components.intent.model import ModelSpec

Manifest = dict[str, Any]

# Pod labels copied onto every scraped series, so queries can pick one version. The target
# names are our own: Triton labels its series `model` and `version` (its model name and
# repository version), and a clash would rename Triton's to `exported_*`.
COPIED_LABELS = {
    "serving.kserve.io/inferenceservice": "inferenceservice",
    MODEL_LABEL: "ml_serving_model",
    VERSION_LABEL: "ml_serving_version",
}

# Budget burn rates (multiples of the rate that spends exactly the budget over 30 days) and the
# long and short windows both of which must show them: the SRE workbook's table.
PAGE_BURNS = ((14.4, "1h", "5m"), (6.0, "6h", "30m"))
TICKET_BURNS = ((3.0, "1d", "2h"), (1.0, "3d", "6h"))
# Thresholds sit this far (relative) above their value, so traffic exactly at an objective does
# not fire through floating-point rounding of the ratios (1 - 0.99 > 0.01 in binary).
TOLERANCE = 1e-9
P99_BUDGET = 0.01
# With no signal for this long while replicas are ready, autoscaling runs blind (KEDA holds
# its fallback) and every SLO alert of the version is silent.
METRIC_ABSENT_FOR = "10m"
# Relative gates compare against the stable version's bad share, floored so a perfect stable
# does not turn one failure of the candidate into "infinitely worse".
GATE_FLOOR = 0.001
TRITON_LATENCY_FLOOR_S = 0.01


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
                        for pod_label, target in COPIED_LABELS.items()
                    ],
                }
            ],
        },
    }


def _alert(
    name: str, expr: str, duration: str, severity: str, summary: str, labels: dict[str, str], runbook: str
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity, **labels},
        "annotations": {"summary": summary, "runbook": f"docs/operations.md#{runbook}"},
    }


def _minutes(seconds: int) -> str:
    return f"{-(-seconds // 60)}m"


def burn_threshold(factor: float, budget: float) -> float:
    """The bad share a burn rate means, kept reachable for large budgets (a 10 % error
    budget burnt 14.4 times over would need 144 % of requests to fail)."""
    return round(min(factor * budget, (1 + budget) / 2), 6)


def above(threshold: float) -> str:
    """A threshold as PromQL, nudged up by TOLERANCE: at the value itself nothing fires."""
    return repr(threshold * (1 + TOLERANCE))


def burn_expression(bad_share, budget: float, burns: tuple[tuple[float, str, str], ...]) -> str:
    """`bad_share(window)` gives the PromQL of the bad share over a window."""
    parts = []
    for factor, long, short in burns:
        threshold = above(burn_threshold(factor, budget))
        parts.append(f"({bad_share(long)} > {threshold} and {bad_share(short)} > {threshold})")
    return " or ".join(parts)


def _objectives(served: ServedVersion) -> list[tuple[str, str, float, Any, str]]:
    """(alert name, objective, budget, bad share by window, what it measures) per objective."""
    model = served.model
    slo = model.slo
    sel = metrics.selector(MODELS_NAMESPACE, served.name)
    found = [
        (
            "MLServingErrorRateBudgetBurn",
            "error_rate",
            slo.error_rate,
            lambda w: metrics.error_ratio(model.runtime, sel, w),
            f"failed requests (objective {slo.error_rate:.2%})",
        )
    ]
    if model.runtime != "vllm":
        return found
    histograms: list[tuple[str, str, Histogram, int | None, str]] = [
        ("MLServingTTFTBudgetBurn", "ttft_p99", "ttft", slo.ttft_p99_ms, "time to first token"),
        ("MLServingTPOTBudgetBurn", "tpot_p99", "inter_token", slo.tpot_p99_ms, "time per output token"),
        ("MLServingLatencyBudgetBurn", "latency_p99", "e2e", slo.latency_p99_ms, "request latency"),
    ]
    for name, objective, histogram, value_ms, what in histograms:
        if value_ms is None:
            continue
        metric = VLLM_METRIC_NAMES[histogram]
        found.append(
            (
                name,
                objective,
                P99_BUDGET,
                lambda w, metric=metric, edge=value_ms / 1000: metrics.slow_ratio(metric, sel, edge, w),
                f"requests with {what} over {value_ms} ms (objective p99)",
            )
        )
    return found


def _labels(served: ServedVersion, team: str | None, **extra: str) -> dict[str, str]:
    labels = {"model": served.model.name, "version": served.version, **extra}
    if team is not None:
        labels["team"] = team
    return labels


def _deployment(metric: str, served: ServedVersion) -> str:
    return f'sum({metric}{{namespace="{MODELS_NAMESPACE}",deployment="{served.predictor}"}})'


def scaling_metric_absent(served: ServedVersion) -> str:
    """Ready replicas but no value of the signal KEDA scales this version on."""
    model = served.model
    load = metrics.load(model.runtime, model.autoscaling.signal, metrics.selector(MODELS_NAMESPACE, served.name))
    ready = ready_groups(served) if _groups(served) else _deployment("kube_deployment_status_replicas_available", served)
    return f"({ready} > 0) unless on() ({load})"


def _groups(served: ServedVersion) -> bool:
    """A replica across nodes: a LeaderWorkerSet group, not a Deployment's pod."""
    return served.model.nodes_per_replica() > 1


def _availability_alerts(served: ServedVersion, team: str | None, not_ready_for: str) -> list[dict[str, Any]]:
    """No replica ready, and replicas not ready: a Deployment's counts, or a LeaderWorkerSet's
    groups from their pods."""
    who = f"{served.model.name} {served.version}"
    if _groups(served):
        nodes = served.model.nodes_per_replica()
        return [
            _alert(
                "MLServingModelDown",
                groups_down(served),
                not_ready_for,
                "critical",
                f"{who}: no group's leader ready for longer than a cold start ({not_ready_for}); requests fail",
                _labels(served, team),
                "model-down",
            ),
            _alert(
                "MLServingGroupNotReady",
                groups_not_ready(served),
                not_ready_for,
                "warning",
                f"{who}: a group of {nodes} pods has pods not ready or missing for longer than a cold start "
                f"({not_ready_for}); the group serves nothing until all {nodes} are ready (GPU or EFA capacity, "
                "image pull, weights, a pipeline stage that cannot reach the leader?)",
                _labels(served, team),
                "group-not-ready",
            ),
        ]
    return [
        _alert(
            "MLServingModelDown",
            f"({_deployment('kube_deployment_spec_replicas', served)} > 0) and on() "
            f"({_deployment('kube_deployment_status_replicas_available', served)} == 0)",
            not_ready_for,
            "critical",
            f"{who}: no replica ready for longer than a cold start ({not_ready_for}); requests fail",
            _labels(served, team),
            "model-down",
        ),
        _alert(
            "MLServingReplicasNotReady",
            f"{_deployment('kube_deployment_status_replicas_unavailable', served)} > 0",
            not_ready_for,
            "warning",
            f"{who}: replicas not ready for longer than a cold start ({not_ready_for}): GPU capacity, image pull or weights?",
            _labels(served, team),
            "replicas-not-ready",
        ),
    ]


def _slo_alerts(served: ServedVersion, team: str | None) -> list[dict[str, Any]]:
    model = served.model
    sel = metrics.selector(MODELS_NAMESPACE, served.name)
    slo = model.slo
    runtime = model.runtime
    who = f"{model.name} {served.version}"
    # A replica may take the whole cold start to become ready (a GPU node from zero, the
    # image, the weights): only longer than that is it stuck.
    not_ready_for = _minutes(cold_start_budget_s(model) + 300)
    saturated_at = model.autoscaling.target * served.max_replicas
    rules = []
    for name, objective, budget, bad_share, what in _objectives(served):
        for severity, burns, duration, pace in (
            ("critical", PAGE_BURNS, "2m", "fast: the 30-day budget goes in under 5 days"),
            ("warning", TICKET_BURNS, "15m", "steadily: at this pace it runs out within the 30 days"),
        ):
            rules.append(
                _alert(
                    name,
                    burn_expression(bad_share, budget, burns),
                    duration,
                    severity,
                    f"{who}: {what} burn the error budget {pace}",
                    _labels(served, team, slo=objective),
                    "slo-budget-burn",
                )
            )
    if runtime == "triton" and slo.latency_p99_ms is not None:
        rules.append(
            _alert(
                "MLServingLatencyAboveSLO",
                f"{metrics.triton_latency_p99_seconds(sel)} > {slo.latency_p99_ms / 1000:g}",
                "10m",
                "critical",
                f"{who}: p99 request latency of its slowest replica above {slo.latency_p99_ms} ms for 10 minutes",
                _labels(served, team, slo="latency_p99"),
                "slo-budget-burn",
            )
        )
    rules += [
        *_availability_alerts(served, team, not_ready_for),
        _alert(
            "MLServingScalingMetricAbsent",
            scaling_metric_absent(served),
            METRIC_ABSENT_FOR,
            "critical",
            f"{who}: replicas are ready but Prometheus has no {model.autoscaling.signal} for them: autoscaling holds "
            "its fallback and the SLO alerts are blind (scrape broken, metric renamed?)",
            _labels(served, team),
            "scaling-metric-absent",
        ),
        _alert(
            "MLServingQueueSaturated",
            f"{metrics.load(runtime, 'queue_depth', sel)} > {saturated_at:g}",
            "10m",
            "warning",
            f"{who}: more requests wait than {served.max_replicas} replicas absorb; raise max_replicas or the pool size",
            _labels(served, team),
            "queue-saturated",
        ),
    ]
    if runtime == "vllm":
        rules.append(
            _alert(
                "MLServingKVCacheFull",
                f"{metrics.kv_cache_usage(sel)} > 0.95",
                "10m",
                "warning",
                f"{who}: KV cache above 95 %; requests queue or get preempted (scale out or shorten max_model_len)",
                _labels(served, team),
                "kv-cache-full",
            )
        )
    return rules


# --- Canary gates: one builder, reused by whatever acts on them (alerts here, Flagger's checks) --


def gate_edge_seconds(gate: Gate, model: ModelSpec, relative: bool) -> float | None:
    """The bucket edge a vLLM latency gate counts slow requests at: its own ceiling for the
    absolute check, the model's objective for the comparison with the stable version."""
    if gate.metric in ("error_rate", "quality") or model.runtime != "vllm":
        return None
    objective = model.slo.ttft_p99_ms if gate.metric == "ttft_p99" else model.slo.latency_p99_ms
    value = (objective or gate.max_value) if relative else gate.max_value
    return None if value is None else value / 1000


def gate_signal(gate: Gate, model: ModelSpec, inferenceservice: str, relative: bool, stable: str = "") -> str:
    """PromQL of what a gate measures for one version: the share of failed requests, or (vLLM
    latencies) the share of requests slower than a bucket edge, or (Triton latency) the p99 of
    its slowest replica in seconds, or (quality) the team's expression naming this version and
    `stable`. Absent failure series count as zero."""
    sel = metrics.selector(MODELS_NAMESPACE, inferenceservice)
    window = f"{gate.window_s}s"
    if gate.metric == "quality":
        assert gate.expression is not None
        return quality_expression(gate.expression, inferenceservice, stable)
    if gate.metric == "error_rate":
        return metrics.error_ratio(model.runtime, sel, window)
    if model.runtime == "triton":
        return metrics.triton_latency_p99_seconds(sel)
    histogram: Histogram = "ttft" if gate.metric == "ttft_p99" else "e2e"
    edge = gate_edge_seconds(gate, model, relative)
    assert edge is not None
    return metrics.slow_ratio(VLLM_METRIC_NAMES[histogram], sel, edge, window)


def quality_expression(expression: str, candidate: str, stable: str) -> str:
    """A team-supplied quality expression with its version placeholders filled in."""
    return expression.replace(CANDIDATE_PLACEHOLDER, candidate).replace(STABLE_PLACEHOLDER, stable)


@dataclass(frozen=True)
class GateCheck:
    """One check of a gate: `value` breaches when above `ceiling`; a relative check's value is
    divided by `baseline` (the stable version's signal, absent read as 0) floored at `floor`."""

    suffix: str
    value: str
    ceiling: float
    baseline: str | None = None
    floor: float = 0.0


def gate_checks(gate: Gate, model: ModelSpec, candidate: str, stable: str) -> list[GateCheck]:
    """The absolute check (no suffix) against the ceiling, then the comparison with the stable
    version (`-vs-stable`) against max_ratio_to_stable, each where the gate sets it."""
    checks = []
    latency_share = gate.metric in ("ttft_p99", "latency_p99") and model.runtime == "vllm"
    if gate.max_value is not None:
        if gate.metric in ("error_rate", "quality"):
            ceiling = gate.max_value
        elif latency_share:
            ceiling = P99_BUDGET  # at most 1 % of requests beyond the ceiling: p99 <= max_value
        else:
            ceiling = gate.max_value / 1000
        checks.append(GateCheck("", gate_signal(gate, model, candidate, relative=False, stable=stable), ceiling))
    if gate.max_ratio_to_stable is not None:
        floor = TRITON_LATENCY_FLOOR_S if gate.metric != "error_rate" and not latency_share else GATE_FLOOR
        checks.append(
            GateCheck(
                "-vs-stable",
                gate_signal(gate, model, candidate, relative=True, stable=stable),
                gate.max_ratio_to_stable,
                baseline=gate_signal(gate, model, stable, relative=True, stable=stable),
                floor=floor,
            )
        )
    return checks


def _baseline(check: GateCheck, absent_as_zero: bool = True) -> str:
    baseline = f"({check.baseline} or vector(0))" if absent_as_zero else check.baseline
    return f"clamp_min({baseline}, {check.floor:g})"


def gate_measures(gate: Gate, model: ModelSpec, candidate: str, stable: str) -> list[tuple[str, str, float]]:
    """The checks as (suffix, PromQL of the measured value, ceiling it must stay at or under),
    for a reader that compares a value with a threshold itself (Flagger's MetricTemplates).
    Unlike the alert, a comparison with an absent stable version has no value: a rollout holds
    on missing evidence (the presence hook) instead of advancing against the floor."""
    return [
        (c.suffix, c.value if c.baseline is None else f"({c.value} / {_baseline(c, absent_as_zero=False)})", c.ceiling)
        for c in gate_checks(gate, model, candidate, stable)
    ]


def gate_expression(gate: Gate, model: ModelSpec, candidate: str, stable: str) -> str:
    """PromQL that returns a value exactly when the candidate breaches the gate: past its
    absolute ceiling, or more than `max_ratio_to_stable` times worse than the stable version.
    No traffic to the candidate returns nothing (no evidence either way)."""
    parts = []
    for check in gate_checks(gate, model, candidate, stable):
        if check.baseline is None:
            parts.append(f"({check.value} > {above(check.ceiling)})")
        else:
            parts.append(f"({check.value} > {above(check.ceiling)} * {_baseline(check)})")
    return " or ".join(parts)
    return " or ".join(parts)


def _gate_alerts(model: ModelSpec, versions: list[ServedVersion], team: str | None) -> list[dict[str, Any]]:
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
            gate_expression(gate, model, candidate.name, stable.name),
            "2m",
            "critical",
            f"{model.name}: candidate {candidate.version} breaches its {gate.metric} gate against {stable.version}; "
            f"roll back: {index_hint}",
            _labels(
                candidate,
                team,
                gate=gate.metric,
                stable_version=stable.version,
                rollback="true" if model.canary.rollback_on_breach else "false",
            ),
            "canary-gate-breached",
        )
        for gate in model.canary.gates
    ]


def _picker_rules(served: ServedVersion, team: str | None) -> list[dict[str, Any]]:
    return [
        _alert(name, expr, duration, severity, summary, _labels(served, team), "route-through-the-endpoint-picker")
        for name, expr, duration, severity, summary in picker_alerts(served, MODELS_NAMESPACE)
    ]


def _side_gate_alerts(model: ModelSpec, versions: list[ServedVersion], team: str | None) -> list[dict[str, Any]]:
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
    labels = {"model": model.name, **({"team": team} if team is not None else {})}
    rules = []
    for alert, arm, version, gates in arms:
        isvc = f"{model.name}-{version}"
        for gate in gates:
            rules.append(_alert(
                alert,
                gate_expression(gate, model, isvc, stable.name),
                "5m",
                "warning",
                f"{model.name}: {arm} ({version}) breaches its {gate.metric} gate against {stable.version}",
                {**labels, "version": version, "gate": gate.metric, "arm": arm, "stable_version": stable.version},
                "experiment-gate-breached",
            ))
    return rules


def prometheus_rule(model: ModelSpec, versions: list[ServedVersion], team: str | None = None) -> Manifest:
    groups = [{"name": f"{model.name}-{v.version}-slo", "rules": _slo_alerts(v, team)} for v in versions]
    groups += [
        {"name": f"{model.name}-{v.version}-picker", "rules": _picker_rules(v, team)}
        for v in versions
        if uses_picker(v)
    ]
    gates = _gate_alerts(model, versions, team)
    if gates:
        groups.append({"name": f"{model.name}-canary-gates", "interval": "30s", "rules": gates})
    side = _side_gate_alerts(model, versions, team)
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

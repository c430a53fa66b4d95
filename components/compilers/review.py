"""What a reviewer of a stack needs that no deployed resource carries: the preview's cost
estimate, the chart pins the program was built with, and each model's intent (replicas,
objectives, engine settings, rollout). The StackReview component publishes this document as
its inputs, so the policy pack judges it in `pulumi preview` exactly as in the offline one.

Keys are camelCase like every other input the pack reads; absent values are left out
(the engine drops nulls).
"""
from __future__ import annotations

from typing import Any

from components.intent import versions
from components.intent.model import ModelSpec
from components.intent.prices import price_list
from components.intent.stack import StackSpec
from components.planning.cost import Estimate, StackCost, instance_price_per_hour

# AddonVersions field -> key in versions.CHARTS.
ADDON_CHARTS = {field: field.replace("_", "-") for field in (
    "cert_manager", "keda", "keda_http_add_on", "kserve", "kube_prometheus_stack", "nvidia_device_plugin",
    "dcgm_exporter", "cluster_autoscaler", "envoy_gateway", "external_dns",
)}


def _estimate(estimate: Estimate) -> dict[str, Any]:
    items = [
        {"item": i.item, "quantity": round(i.quantity, 2), "unit": i.unit, "monthlyUsd": round(i.monthly_usd, 2)}
        for i in estimate.items
        if i.monthly_usd is not None
    ]
    return {"monthlyUsd": round(estimate.total_usd, 2), "items": items, "unpriced": list(estimate.unpriced)}


def _addons(spec: StackSpec) -> list[dict[str, Any]]:
    if spec.cluster is None:
        return []
    requested = spec.cluster.addon_versions
    rows = []
    for field, key in ADDON_CHARTS.items():
        pin = versions.CHARTS[key]
        rows.append({"addon": key, "chart": pin.chart, "pinned": pin.version, "requested": getattr(requested, field)})
    return rows


def _warm_nodes(spec: StackSpec) -> list[dict[str, Any]]:
    if spec.cluster is None:
        return []
    hours = price_list().hours_per_month
    rows = []
    for pool in spec.cluster.gpu_pools:
        warm = pool.warm_pool
        if warm is None or not warm.min_size:
            continue
        itype = pool.instance_types[0]
        running_usd = warm.min_size * instance_price_per_hour(itype, "eks") * hours if warm.state == "running" else 0.0
        rows.append({
            "pool": pool.name, "instanceType": itype, "instances": warm.min_size, "state": warm.state,
            "runningMonthlyUsd": round(running_usd, 2),
        })
    return rows


def _gates(gates) -> list[dict[str, Any]]:
    rows = []
    for gate in gates:
        row: dict[str, Any] = {"metric": gate.metric, "windowS": gate.window_s}
        if gate.max_value is not None:
            row["maxValue"] = gate.max_value
        if gate.max_ratio_to_stable is not None:
            row["maxRatioToStable"] = gate.max_ratio_to_stable
        rows.append(row)
    return rows


def _canary(model: ModelSpec) -> dict[str, Any] | None:
    canary = model.canary
    if canary is None:
        return None
    gates = _gates(canary.gates)
    facts: dict[str, Any] = {
        "version": canary.version,
        "steps": list(canary.steps),
        "trafficPercent": canary.traffic_percent,
        "stepIntervalS": canary.step_interval_s,
        "rollbackOnBreach": canary.rollback_on_breach,
        "gates": gates,
    }
    if canary.previous_percent is not None:
        facts["previousPercent"] = canary.previous_percent
    return facts


def _slo(model: ModelSpec) -> dict[str, Any]:
    slo = model.slo
    values = {"ttftP99Ms": slo.ttft_p99_ms, "tpotP99Ms": slo.tpot_p99_ms, "latencyP99Ms": slo.latency_p99_ms,
              "errorRate": slo.error_rate}
    return {k: v for k, v in values.items() if v is not None}


def _vllm(model: ModelSpec) -> dict[str, Any] | None:
    engine = model.vllm
    plan = model.memory_plan()
    if engine is None or plan is None:
        return None
    return {
        "gpuMemoryUtilization": engine.gpu_memory_utilization,
        "maxNumSeqs": engine.max_num_seqs,
        "maxModelLen": engine.max_model_len,
        "kvCacheTokens": plan.kv_tokens,
    }


def _model(model: ModelSpec) -> dict[str, Any]:
    policy = model.autoscaling
    facts: dict[str, Any] = {
        "name": model.name,
        "runtime": model.runtime,
        "instanceType": model.instance_type,
        # Every weight the model serves, its experiment's and shadow's included.
        "sources": _sources(model),
        # The floor while the model takes traffic; scaling to zero is judged on its own
        # (online-models-keep-warm-replica).
        "minReplicas": policy.min_replicas,
        "scaleToZero": policy.scale_to_zero,
        "maxReplicas": policy.max_replicas,
        "warmReplicas": policy.warm_pool,
        "slo": _slo(model),
    }
    if policy.single_replica_reason:
        facts["singleReplicaReason"] = policy.single_replica_reason
    for key, value in (("vllm", _vllm(model)), ("canary", _canary(model))):
        if value is not None:
            facts[key] = value
    # Gates of versions nothing rolls back: they page, so they must be no looser than the SLO either.
    if model.experiment is not None and model.experiment.gates:
        facts["experimentGates"] = _gates(model.experiment.gates)
    if model.shadow is not None and model.shadow.gates:
        facts["shadowGates"] = _gates(model.shadow.gates)
    return facts


def _sources(model: ModelSpec) -> list[str]:
    sources = [model.source]
    if model.canary is not None:
        sources.append(model.canary.source)
    for variant in model.experiment.variants if model.experiment else []:
        if variant.source is not None:
            sources.append(variant.source)
    if model.shadow is not None:
        sources.append(model.shadow.source)
    return list(dict.fromkeys(sources))


def stack_review(spec: StackSpec, cost: StackCost) -> dict[str, Any]:
    """The reviewed facts of a stack (without the account, which only the deployment knows)."""
    facts: dict[str, Any] = {
        "environment": spec.environment,
        "target": spec.target,
        "modelBucket": spec.storage.bucket,
        "cost": {"idle": _estimate(cost.idle), "busy": _estimate(cost.busy)},
        "addons": _addons(spec),
        "warmNodes": _warm_nodes(spec),
        "models": [_model(m) for m in spec.models],
    }
    if spec.target == "sagemaker":
        settings = spec.sagemaker
        capture: dict[str, Any] = {"dataCapturePercent": settings.data_capture_percent if settings else 0}
        if settings is not None and settings.data_capture_approval:
            capture["dataCaptureApproval"] = settings.data_capture_approval
        facts["sagemaker"] = capture
    return facts

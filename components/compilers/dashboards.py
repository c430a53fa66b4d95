"""A Grafana dashboard per runtime, shipped as a ConfigMap the Grafana sidecar loads."""
from __future__ import annotations

import json
from typing import Any

from components.compilers import metrics
from components.compilers.endpoint_picker import picker_panels
from components.compilers.helm_values import NAMESPACES
from components.compilers.serving import MODELS_NAMESPACE

Manifest = dict[str, Any]

_SEL = metrics.selector(MODELS_NAMESPACE, "$inferenceservice").replace('inferenceservice="$inferenceservice"', 'inferenceservice=~"$inferenceservice"')


def _panel(index: int, title: str, expr: str, unit: str) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "expr": expr, "legendFormat": "{{service}}" if "-epp" in expr else "{{inferenceservice}}"}],
    }


def _panels(runtime: str) -> list[tuple[str, str, str]]:
    per_version = "sum by (inferenceservice)"
    if runtime == "vllm":
        return [
            ("Requests waiting (autoscaling signal)", f"{per_version} ({metrics.VLLM_WAITING}{{{_SEL}}})", "short"),
            ("Requests running", f"{per_version} ({metrics.VLLM_RUNNING}{{{_SEL}}})", "short"),
            ("Time to first token p99", f"histogram_quantile(0.99, sum by (le, inferenceservice) (rate({metrics.VLLM_TTFT}_bucket{{{_SEL}}}[5m])))", "s"),
            ("Inter-token latency p99", f"histogram_quantile(0.99, sum by (le, inferenceservice) (rate({metrics.VLLM_ITL}_bucket{{{_SEL}}}[5m])))", "s"),
            ("KV cache usage", f"max by (inferenceservice) ({metrics.VLLM_KV_USAGE}{{{_SEL}}})", "percentunit"),
            ("Requests completed per second", f"{per_version} (rate({metrics.VLLM_SUCCESS}{{{_SEL}}}[1m]))", "reqps"),
            ("5xx share", f'{per_version} (rate({metrics.VLLM_HTTP}{{{_SEL},status="5xx"}}[5m])) / {per_version} (rate({metrics.VLLM_HTTP}{{{_SEL}}}[5m]))', "percentunit"),
            ("Replicas ready", f'sum by (deployment) (kube_deployment_status_replicas_available{{namespace="{MODELS_NAMESPACE}"}})', "short"),
            *picker_panels(MODELS_NAMESPACE),
            ("Canary weight (Flagger)", f"max by (workload) ({FLAGGER_WEIGHT})", "percent"),
        ]
    return [
        ("Requests pending (autoscaling signal)", f"{per_version} ({metrics.TRITON_PENDING}{{{_SEL}}})", "short"),
        ("Request latency p99", f'max by (inferenceservice) ({metrics.TRITON_SUMMARY_US}{{{_SEL},quantile="0.99"}}) / 1e6', "s"),
        ("Queue time per request", f"{per_version} (rate({metrics.TRITON_QUEUE_US}{{{_SEL}}}[1m])) / {per_version} (rate({metrics.TRITON_SUCCESS}{{{_SEL}}}[1m])) / 1e6", "s"),
        ("Successful inferences per second", f"{per_version} (rate({metrics.TRITON_SUCCESS}{{{_SEL}}}[1m]))", "reqps"),
        ("Failed inferences per second", f"{per_version} (rate({metrics.TRITON_FAILURE}{{{_SEL}}}[1m]))", "reqps"),
        ("Replicas ready", f'sum by (deployment) (kube_deployment_status_replicas_available{{namespace="{MODELS_NAMESPACE}"}})', "short"),
        ("Canary weight (Flagger)", f"max by (workload) ({FLAGGER_WEIGHT})", "percent"),
    ]


def dashboard(runtime: str) -> dict[str, Any]:
    return {
        "uid": f"ml-serving-{runtime}",
        "title": f"ml-serving / {runtime}",
        "tags": ["ml-serving", runtime],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "inferenceservice",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": f'label_values({metrics.VLLM_WAITING if runtime == "vllm" else metrics.TRITON_PENDING}{{namespace="{MODELS_NAMESPACE}"}}, inferenceservice)',
                    "includeAll": True,
                    "multi": True,
                    "refresh": 2,
                },
            ]
        },
        "annotations": {"list": rollout_annotations()},
        "panels": [_panel(i, title, expr, unit) for i, (title, expr, unit) in enumerate(_panels(runtime))],
    }


# The candidate's weight as Flagger exports it (its primary's series ends in -primary).
FLAGGER_WEIGHT = f'flagger_canary_weight{{namespace="{MODELS_NAMESPACE}",workload!~".+-primary"}}'


def rollout_annotations() -> list[dict[str, Any]]:
    """Each automated step and each rollback marked on every panel's time axis."""
    source = {"type": "prometheus", "uid": "${datasource}"}
    return [
        {
            "name": "Canary steps",
            "datasource": source,
            "enable": True,
            "iconColor": "blue",
            "expr": f"changes({FLAGGER_WEIGHT}[1m]) > 0",
            "step": "60s",
            "titleFormat": "{{workload}}: canary weight changed",
            "tagKeys": "workload",
        },
        {
            "name": "Canary rollbacks",
            "datasource": source,
            "enable": True,
            "iconColor": "red",
            "expr": f'changes(flagger_canary_status{{namespace="{MODELS_NAMESPACE}"}}[1m]) > 0 and flagger_canary_status{{namespace="{MODELS_NAMESPACE}"}} == 2',
            "step": "60s",
            "titleFormat": "{{name}}: rolled back by Flagger",
            "tagKeys": "name",
        },
    ]


def dashboard_config_map(runtime: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"ml-serving-{runtime}-dashboard",
            "namespace": NAMESPACES["kube-prometheus-stack"],
            # The label and value kube-prometheus-stack's Grafana sidecar watches (helm_values).
            "labels": {"grafana_dashboard": "1"},
        },
        "data": {f"ml-serving-{runtime}.json": json.dumps(dashboard(runtime), indent=2, sort_keys=True)},
    }

"""Endpoint picker per served version: the inferencepool chart's values (InferencePool, EPP
Deployment, its ServiceMonitor) and the names other objects refer to.

One pool per version keeps a canary's candidate scored apart from the stable replicas, and
promotion deletes the old version's pool with its InferenceService. The chart is v1.5.0,
the last one GIE shipped (v1.6.0 moved the EPP charts to llm-d-router); it renders
InferencePool v1, which GIE v1.6.0 serves unchanged.
"""
from __future__ import annotations

from typing import Any

from components.compilers.helm_values import MONITOR_LABELS
from components.compilers.kserve import HTTP_PORT, MODEL_LABEL, VERSION_LABEL
from components.compilers.rollout import ServedVersion
from components.intent.routing import PICKER_NAME_LIMIT

Values = dict[str, Any]

POOL_GROUP = "inference.networking.k8s.io"
POOL_KIND = "InferencePool"
POOL_API = f"{POOL_GROUP}/v1"
EXT_PROC_PORT = 9002
METRICS_PORT = 9090
FAILURE_MODES = {"fail_open": "FailOpen", "fail_closed": "FailClose"}
# What the EPP's Deployment is labelled with (the chart's `app.kubernetes.io/name`).
PICKER_NAME_LABEL = "app.kubernetes.io/name"


def uses_picker(served: ServedVersion) -> bool:
    model = served.model
    return model.runtime == "vllm" and model.routing.balancer == "endpoint_picker"


def pool_name(served: ServedVersion) -> str:
    """The Helm release and the InferencePool it creates."""
    return served.name


def picker_name(served: ServedVersion) -> str:
    """The EPP Deployment and Service (the chart's `<release, cut to 40>-epp`)."""
    return f"{pool_name(served)[:PICKER_NAME_LIMIT]}-epp"


def picker_values(served: ServedVersion) -> Values:
    model = served.model
    return {
        "inferenceExtension": {
            "image": {"pullPolicy": "IfNotPresent"},
            "failureMode": FAILURE_MODES[model.routing.failure_mode],
            # The chart asks for 4 CPUs and 8 GiB, sized for thousands of requests a second;
            # a system node has 4 vCPUs in all. No CPU limit: scheduling bursts may use the node.
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
            "monitoring": {
                "prometheus": {
                    "enabled": True,
                    "extraLabels": MONITOR_LABELS,
                    # The chart's default Secret name is the same for every release in a
                    # namespace; two pools would fight over it.
                    "auth": {"enabled": True, "secretName": f"{pool_name(served)}-metrics-reader"},
                }
            },
        },
        "inferencePool": {
            # vLLM serves requests and /metrics on the one port the EPP also scrapes.
            "targetPorts": [{"number": HTTP_PORT}],
            "modelServerType": "vllm",
            "modelServers": {"matchLabels": {MODEL_LABEL: model.name, VERSION_LABEL: served.version}},
        },
        "provider": {"name": "none"},
    }


def pool_backend(served: ServedVersion) -> dict[str, Any]:
    """An HTTPRoute backendRef to the version's InferencePool (no port: the pool has it)."""
    return {"group": POOL_GROUP, "kind": POOL_KIND, "name": pool_name(served), "weight": served.weight}


# --- the picker's own metrics (GIE v1.5.0 pkg/epp/metrics/metrics.go) -------------------------
EPP_SCHEDULER_ATTEMPTS = "inference_extension_scheduler_attempts_total"  # label status=success|failure
EPP_SCHEDULER_LATENCY = "inference_extension_scheduler_e2e_duration_seconds"  # histogram, edge at 0.05
EPP_PREFIX_HIT_RATIO = "inference_extension_prefix_indexer_hit_ratio"  # histogram 0.0-1.0
EPP_READY_PODS = "inference_pool_ready_pods"  # label name=<pool>
# A slow picker adds its latency to every request's time to first token.
PICKER_P99_LIMIT_S = 0.05


def picker_selector(namespace: str, served: ServedVersion | None = None) -> str:
    """Series scraped from one version's picker (the ServiceMonitor labels them `service`)."""
    service = f'service="{picker_name(served)}"' if served is not None else 'service=~".+-epp"'
    return f'namespace="{namespace}",{service}'


def picker_alerts(served: ServedVersion, namespace: str) -> list[tuple[str, str, str, str, str]]:
    """(alert, expr, for, severity, summary) for one version's picker. A dead picker under
    fail_open degrades replica choice (warning); under fail_closed it refuses every request
    (critical). A scrape that returns nothing counts as down."""
    sel = picker_selector(namespace, served)
    closed = served.model.routing.failure_mode == "fail_closed"
    consequence = "the gateway refuses this version's requests" if closed else "requests fall back to plain balancing"
    attempts = f"sum(rate({EPP_SCHEDULER_ATTEMPTS}{{{sel}}}[5m]))"
    failures = f'(sum(rate({EPP_SCHEDULER_ATTEMPTS}{{{sel},status="failure"}}[5m])) or vector(0))'
    return [
        (
            "MLServingEndpointPickerDown",
            f"(sum(up{{{sel}}}) or vector(0)) < 1",
            "2m",
            "critical" if closed else "warning",
            f"{served.name}: the endpoint picker is not scraped as up; {consequence}",
        ),
        (
            "MLServingEndpointPickerFailing",
            f"{failures} / {attempts} > 0.05",
            "5m",
            "critical" if closed else "warning",
            f"{served.name}: more than 5 % of scheduling attempts fail (no ready replica, or none with the adapter)",
        ),
        (
            "MLServingEndpointPickerSlow",
            f"histogram_quantile(0.99, sum by (le) (rate({EPP_SCHEDULER_LATENCY}_bucket{{{sel}}}[5m]))) > {PICKER_P99_LIMIT_S:g}",
            "10m",
            "warning",
            f"{served.name}: picker scheduling p99 above {PICKER_P99_LIMIT_S * 1000:g} ms, added to every first token",
        ),
    ]


def picker_panels(namespace: str) -> list[tuple[str, str, str]]:
    sel = picker_selector(namespace)
    return [
        ("Endpoint picker up", f"sum by (service) (up{{{sel}}})", "short"),
        ("Endpoint picker scheduling p99", f"histogram_quantile(0.99, sum by (le, service) (rate({EPP_SCHEDULER_LATENCY}_bucket{{{sel}}}[5m])))", "s"),
        ("Endpoint picker failed schedulings per second", f'sum by (service) (rate({EPP_SCHEDULER_ATTEMPTS}{{{sel},status="failure"}}[5m]))', "reqps"),
        ("Prefix-cache match ratio (median)", f"histogram_quantile(0.5, sum by (le, service) (rate({EPP_PREFIX_HIT_RATIO}_bucket{{{sel}}}[5m])))", "percentunit"),
    ]

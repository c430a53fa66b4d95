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

"""Warm-pool placeholders: pods that hold GPUs (and the pulled serving image) for the next replica."""
from __future__ import annotations

from typing import Any

from components.compilers.kserve import CHECKOV_SKIPS, CONTAINER_SECURITY, GPU_TOLERATION, POD_SECURITY
from components.compilers.node_groups import POOL_LABEL
from components.compilers.serving import MANAGED_BY, MODELS_NAMESPACE, PLACEHOLDER_PRIORITY_CLASS
from components.intent.model import ModelSpec

Manifest = dict[str, Any]


def warm_pool(model: ModelSpec, pool_name: str, image: str) -> Manifest | None:
    """Placeholder pods holding GPUs on the model's pool at negative priority: a new replica
    preempts one and starts on a node that is already up and has already pulled the serving
    image, because the placeholder runs that very image (asleep)."""
    replicas = model.autoscaling.warm_pool
    if replicas == 0:
        return None
    labels = {"app.kubernetes.io/name": f"{model.name}-warm-pool", "ml-serving/model": model.name, **MANAGED_BY}
    gpus = str(model.gpus)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"{model.name}-warm-pool",
            "namespace": MODELS_NAMESPACE,
            "labels": labels,
            "annotations": {
                **CHECKOV_SKIPS,
                "checkov.io/skip3": "CKV_K8S_8=a placeholder sleeps and serves nothing; no liveness to probe, it "
                "exists only to be preempted",
                "checkov.io/skip4": "CKV_K8S_9=a placeholder never receives traffic (no Service selects it), so "
                "readiness means nothing",
            },
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": labels["app.kubernetes.io/name"]}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": PLACEHOLDER_PRIORITY_CLASS,
                    "terminationGracePeriodSeconds": 0,
                    "automountServiceAccountToken": False,
                    "nodeSelector": {POOL_LABEL: pool_name},
                    "tolerations": [GPU_TOLERATION],
                    "securityContext": POD_SECURITY,
                    "containers": [
                        {
                            "name": "hold-gpu",
                            "image": image,
                            "command": ["sleep", "infinity"],
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "32Mi", "nvidia.com/gpu": gpus},
                                "limits": {"memory": "64Mi", "nvidia.com/gpu": gpus},
                            },
                            "securityContext": CONTAINER_SECURITY,
                        }
                    ],
                },
            },
        },
    }

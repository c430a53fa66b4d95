"""The models namespace: where InferenceServices run, the identity they read weights with, and
the priorities that let real replicas preempt warm-pool placeholders."""
from __future__ import annotations

from typing import Any

Manifest = dict[str, Any]

MODELS_NAMESPACE = "models"
MODEL_SERVICE_ACCOUNT = "model-reader"
MODEL_PRIORITY_CLASS = "model-serving"
PLACEHOLDER_PRIORITY_CLASS = "warm-pool-placeholder"
MANAGED_BY = {"app.kubernetes.io/managed-by": "ml-serving"}


def namespace() -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": MODELS_NAMESPACE,
            "labels": {
                **MANAGED_BY,
                # Model servers need no host access; warn on anything below `restricted`.
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }


def service_account() -> Manifest:
    """Model pods read weights from S3 as this account (EKS Pod Identity maps it to a role)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": MODEL_SERVICE_ACCOUNT, "namespace": MODELS_NAMESPACE, "labels": MANAGED_BY},
        # Model servers never call the Kubernetes API. EKS Pod Identity still works: its webhook
        # adds its own projected token (audience pods.eks.amazonaws.com, volume
        # eks-pod-identity-token), which this setting does not govern.
        "automountServiceAccountToken": False,
    }


def priority_classes() -> list[Manifest]:
    return [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": MODEL_PRIORITY_CLASS, "labels": MANAGED_BY},
            "value": 1000,
            "globalDefault": False,
            "description": "Model servers: preempt warm-pool placeholders to get a GPU at once.",
        },
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": PLACEHOLDER_PRIORITY_CLASS, "labels": MANAGED_BY},
            "value": -10,
            "globalDefault": False,
            "preemptionPolicy": "Never",
            "description": "Warm-pool placeholders: hold GPU capacity until a model replica needs it.",
        },
    ]

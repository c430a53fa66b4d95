"""Disruption budgets: node drains and consolidation take a serving version down one replica at a time."""
from __future__ import annotations

from typing import Any

from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODELS_NAMESPACE

Manifest = dict[str, Any]


def disruption_budget(served: ServedVersion) -> Manifest:
    """Node drains and consolidation take one replica of a version at a time."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": served.name, "namespace": MODELS_NAMESPACE, "labels": {"ml-serving/model": served.model.name}},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"serving.kserve.io/inferenceservice": served.name}},
        },
    }

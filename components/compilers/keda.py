"""KEDA objects: the ReferenceGrant that lets model routes reach the HTTP add-on's interceptor."""
from __future__ import annotations

from typing import Any

from components.compilers.helm_values import NAMESPACES

Manifest = dict[str, Any]

# Service names the keda-add-ons-http chart derives from its chart name (chart 0.15.0).
INTERCEPTOR_SERVICE = "keda-add-ons-http-interceptor-proxy"
INTERCEPTOR_PORT = 8080
EXTERNAL_SCALER = f"keda-add-ons-http-external-scaler.{NAMESPACES['keda-http-add-on']}:9090"


def interceptor_reference_grant(from_namespace: str) -> Manifest:
    """HTTPRoutes in the models namespace may target the interceptor in the keda namespace."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": f"{from_namespace}-routes-to-interceptor", "namespace": NAMESPACES["keda-http-add-on"]},
        "spec": {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": from_namespace}],
            "to": [{"group": "", "kind": "Service", "name": INTERCEPTOR_SERVICE}],
        },
    }

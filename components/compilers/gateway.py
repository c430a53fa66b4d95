"""The Gateway API objects in front of the models: an internal NLB, one listener per domain."""
from __future__ import annotations

from typing import Any

from components.compilers.helm_values import NAMESPACES

Manifest = dict[str, Any]

GATEWAY_CLASS = "ml-serving"
GATEWAY_NAME = "models"
ENVOY_PROXY = "internal-nlb"
# Envoy Gateway v1.9 bundles Gateway API v1.6.1; v1 is the served version of both kinds.
GATEWAY_API = "gateway.networking.k8s.io/v1"


def envoy_proxy() -> Manifest:
    """Data-plane settings: an internal Network Load Balancer, reachable only inside the VPC."""
    return {
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "EnvoyProxy",
        "metadata": {"name": ENVOY_PROXY, "namespace": NAMESPACES["envoy-gateway"]},
        "spec": {
            "provider": {
                "type": "Kubernetes",
                "kubernetes": {
                    "envoyService": {
                        "type": "LoadBalancer",
                        "annotations": {
                            "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                            "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
                        },
                    }
                },
            }
        },
    }


def gateway_class() -> Manifest:
    return {
        "apiVersion": GATEWAY_API,
        "kind": "GatewayClass",
        "metadata": {"name": GATEWAY_CLASS},
        "spec": {
            "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
            "parametersRef": {
                "group": "gateway.envoyproxy.io",
                "kind": "EnvoyProxy",
                "name": ENVOY_PROXY,
                "namespace": NAMESPACES["envoy-gateway"],
            },
        },
    }


def gateway(namespace: str, domain: str) -> Manifest:
    return {
        "apiVersion": GATEWAY_API,
        "kind": "Gateway",
        "metadata": {"name": GATEWAY_NAME, "namespace": namespace},
        "spec": {
            "gatewayClassName": GATEWAY_CLASS,
            "listeners": [
                {
                    "name": "http",
                    "protocol": "HTTP",
                    "port": 80,
                    "hostname": f"*.{domain}",
                    "allowedRoutes": {"namespaces": {"from": "Same"}},
                }
            ],
        },
    }

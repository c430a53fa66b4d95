"""Default-deny for the models namespace, and the flows model pods need.

In: the gateway's Envoy proxies and the KEDA HTTP interceptor (requests), Prometheus (scrapes).
Out: cluster DNS, the EKS Pod Identity agent (credentials), and HTTPS for S3 (gateway
endpoint: S3's public addresses, which a NetworkPolicy cannot name as a prefix list), the ECR
and STS interface endpoints in the VPC, and the Hugging Face Hub for hf:// sources.
Between pods of the namespace: an endpoint picker takes ext-proc calls from the Envoy proxies
and scrapes the model servers it scores; the pods of a replica across nodes (a LeaderWorkerSet
group) rendezvous and exchange tensors on ports vLLM and NCCL choose at start, so they are open
to each other on every port.
Enforced by the VPC CNI's network policy agent (enableNetworkPolicy on the vpc-cni add-on).
"""
from __future__ import annotations

from typing import Any

from components.compilers.endpoint_picker import EXT_PROC_PORT, METRICS_PORT
from components.compilers.kserve import HTTP_PORT, MODEL_LABEL, TRITON_METRICS_PORT
from components.compilers.leader_worker_set import GROUP_LABEL
from components.compilers.serving import MANAGED_BY, MODELS_NAMESPACE

Manifest = dict[str, Any]
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
GATEWAY_NAMESPACE = "envoy-gateway-system"
KEDA_NAMESPACE = "keda"
MONITORING_NAMESPACE = "monitoring"
# eks-pod-identity-agent listens on this link-local address on every node (hostNetwork).
POD_IDENTITY_AGENT = "169.254.170.23/32"
IMDS = "169.254.169.254/32"
# The key the inferencepool chart's selector labels put on every endpoint-picker pod.
PICKER_POD_LABEL = "inferencepool"


def _having(label: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": label, "operator": "Exists"}]}


def _from_namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: name}}}


def _policy(name: str, spec: dict[str, Any]) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": MODELS_NAMESPACE, "labels": MANAGED_BY},
        "spec": spec,
    }


def model_network_policies() -> list[Manifest]:
    tcp = lambda port: {"protocol": "TCP", "port": port}  # noqa: E731
    return [
        _policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy("model-ingress", {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [_from_namespace(GATEWAY_NAMESPACE), _from_namespace(KEDA_NAMESPACE)], "ports": [tcp(HTTP_PORT)]},
                {"from": [_from_namespace(MONITORING_NAMESPACE)], "ports": [tcp(HTTP_PORT), tcp(TRITON_METRICS_PORT)]},
            ],
        }),
        _policy("model-egress", {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{**_from_namespace("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                 "ports": [{"protocol": "UDP", "port": 53}, tcp(53)]},
                {"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT}}], "ports": [tcp(80)]},
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [IMDS]}}], "ports": [tcp(443)]},
            ],
        }),
        _policy("endpoint-picker", {
            "podSelector": _having(PICKER_POD_LABEL),
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [_from_namespace(GATEWAY_NAMESPACE)], "ports": [tcp(EXT_PROC_PORT)]},
                {"from": [_from_namespace(MONITORING_NAMESPACE)], "ports": [tcp(METRICS_PORT)]},
            ],
            "egress": [{"to": [{"podSelector": _having(MODEL_LABEL)}], "ports": [tcp(HTTP_PORT)]}],
        }),
        _policy("model-from-picker", {
            "podSelector": _having(MODEL_LABEL),
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": _having(PICKER_POD_LABEL)}], "ports": [tcp(HTTP_PORT)]}],
        }),
        _policy("replica-group", {
            "podSelector": _having(GROUP_LABEL),
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": _having(GROUP_LABEL)}]}],
            "egress": [{"to": [{"podSelector": _having(GROUP_LABEL)}]}],
        }),
    ]

"""The HTTPRoute in front of each model: request-weighted between its versions, or through the
KEDA interceptor for a model that scales to zero."""
from __future__ import annotations

from typing import Any

from components.compilers.endpoint_picker import pool_backend, uses_picker
from components.compilers.gateway import GATEWAY_API, GATEWAY_NAME
from components.compilers.helm_values import NAMESPACES
from components.compilers.keda import INTERCEPTOR_PORT, INTERCEPTOR_SERVICE, RESPONSE_TIMEOUT_S
from components.compilers.kserve import cold_start_budget_s
from components.compilers.rollout import ServedVersion
from components.compilers.serving import MODELS_NAMESPACE
from components.intent.model import ModelSpec

Manifest = dict[str, Any]

# The rollout plan rides along on the route, where the policy pack can check it.
CANARY_STEPS_ANNOTATION = "ml-serving/canary-steps"
# Envoy Gateway v1.9.0 resolves InferencePool backendRefs through its extension server, the
# Envoy AI Gateway controller, which takes one InferencePool per route rule: weights across
# two pools (GIE conformance GatewayWeightedAcrossTwoInferencePools) are an open proposal
# there (envoyproxy/ai-gateway#2657, 2026-09). Until it lands, a canary splitting requests
# between two versions splits them over the versions' Services.
WEIGHTED_POOLS_SUPPORTED = False


def model_host(model: ModelSpec, domain: str) -> str:
    return f"{model.name}.{domain}"


def http_route(model: ModelSpec, versions: list[ServedVersion], domain: str) -> Manifest:
    timeout = RESPONSE_TIMEOUT_S
    if model.autoscaling.scale_to_zero:
        # The first request after an idle spell waits out the cold start in the interceptor.
        timeout += cold_start_budget_s(model)
        # The interceptor routes on the Host header to the version's Service.
        backends = [
            {
                "group": "",
                "kind": "Service",
                "name": INTERCEPTOR_SERVICE,
                "namespace": NAMESPACES["keda-http-add-on"],
                "port": INTERCEPTOR_PORT,
                "weight": 100,
            }
        ]
    else:
        # Gateway API weights are per request (weight / sum of weights), unlike KServe's
        # Standard-mode canary, which splits by replica count.
        backends = version_backends(versions)
    metadata: dict[str, Any] = {"name": model.name, "namespace": MODELS_NAMESPACE, "labels": {"ml-serving/model": model.name}}
    if model.canary is not None:
        metadata["annotations"] = {CANARY_STEPS_ANNOTATION: ",".join(str(step) for step in model.canary.steps)}
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": metadata,
        "spec": {
            "parentRefs": [{"name": GATEWAY_NAME, "namespace": MODELS_NAMESPACE}],
            "hostnames": [model_host(model, domain)],
            "rules": [{"backendRefs": backends, "timeouts": {"request": f"{timeout}s"}}],
        },
    }


def version_backends(versions: list[ServedVersion], weighted_pools: bool = WEIGHTED_POOLS_SUPPORTED) -> list[dict[str, Any]]:
    """Request-weighted backendRefs: each live version's InferencePool where its picker can
    take the requests, else each version's Service."""
    live = [v for v in versions if v.weight > 0]
    if live and all(uses_picker(v) for v in live) and (len(live) == 1 or weighted_pools):
        return [pool_backend(v) for v in live]
    return [service_backend(v) for v in versions]


def service_backend(served: ServedVersion) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": served.predictor, "port": 80, "weight": served.weight}
